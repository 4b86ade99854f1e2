// Command pulumi-resource-kubernetes is Pulumi's Kubernetes provider, built from the Go module proxy.
//
// The upstream main (cmd/pulumi-resource-kubernetes) embeds files that `go generate` writes and the module
// zip lacks, so this wrapper embeds the two inputs instead: stack/install.sh copies schema.json (with its
// "version" set to the release) and terraform-mapping.json from the module next to this file before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var pulumiSchema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
