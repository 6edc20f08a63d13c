"""What aurora writes for deployment: Kubernetes objects, Vert.x clustering, Istio, the kaniko Job, CI starters."""
