"""Host plumbing: the one runner of external commands, registries, skopeo, the Docker API, git."""
