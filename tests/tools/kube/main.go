// Package main keeps the dependencies of the Kubernetes commands the tests build in go.mod
// and go.sum (go mod tidy drops what nothing imports); scripts/kube-node.sh builds the
// commands themselves, k8s.io/kubernetes/cmd/<name>, with this module's versions.
package main

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-proxy/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubernetes/cmd/kubelet/app"
	_ "k8s.io/kubectl/pkg/cmd"
)

func main() {}
