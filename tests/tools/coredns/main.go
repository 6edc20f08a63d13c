// Package main keeps CoreDNS's dependencies in go.mod and go.sum (the imports of its own
// main package, coredns.go); scripts/kube-node.sh builds github.com/coredns/coredns itself
// with this module's versions.
package main

import (
	_ "github.com/coredns/coredns/core/plugin"
	_ "github.com/coredns/coredns/coremain"
)

func main() {}
