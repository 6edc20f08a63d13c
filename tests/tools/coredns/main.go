// Package main is the CoreDNS of the tests' one-node cluster: CoreDNS's own main (coredns.go)
// with only the plugins its Corefile uses (tests/integration/kubenode_files.py: errors, health,
// ready, kubernetes, cache) instead of all of them, the way CoreDNS documents building with a
// plugin set of one's own. The cloud providers' SDKs the full set brings in were most of its
// build time. scripts/kube-node.sh builds this module.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
