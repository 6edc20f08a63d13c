// policypull pulls an image the way podman, skopeo and CRI-O do — through containers/image's
// copy with a signature policy (policy.json + registries.d) — into an OCI layout.
//
// Debian 12's podman and skopeo are built with sigstore disabled ("Debian-local change"), so
// they refuse every sigstoreSigned policy; this is the same library, upstream, built for tests.
//
//	policypull POLICY.json REGISTRIES.D docker://HOST/REPO:TAG OCI-DIR
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "policypull: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 5 || !strings.HasPrefix(os.Args[3], "docker://") {
		fmt.Fprintln(os.Stderr, "usage: policypull POLICY.json REGISTRIES.D docker://HOST/REPO:TAG OCI-DIR")
		os.Exit(2)
	}
	policy, err := signature.NewPolicyFromFile(os.Args[1])
	if err != nil {
		fail("policy: %v", err)
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		fail("policy: %v", err)
	}
	defer func() { _ = pc.Destroy() }()
	src, err := docker.ParseReference(strings.TrimPrefix(os.Args[3], "docker:"))
	if err != nil {
		fail("source: %v", err)
	}
	dst, err := layout.ParseReference(os.Args[4])
	if err != nil {
		fail("destination: %v", err)
	}
	sys := &types.SystemContext{RegistriesDirPath: os.Args[2], DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}
	if _, err := copy.Image(context.Background(), pc, dst, src, &copy.Options{SourceCtx: sys, DestinationCtx: sys, RemoveSignatures: true}); err != nil {
		fail("%v", err)
	}
	fmt.Println("pulled", os.Args[3])
}
