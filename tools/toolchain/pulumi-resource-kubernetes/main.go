// The Kubernetes resource provider plugin, built from the only snapshot of its Go module that the module
// proxy serves. Its own main embeds generated *-embed.json files that are not in the module zip, so this
// main embeds the schema and Terraform mapping that are (copied next to this file by ../build.sh).
package main

import (
	_ "embed"
	"encoding/json"
	"log"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var rawSchema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, versionedSchema(rawSchema, version.Version), terraformMapping)
}

// versionedSchema sets the package version in the schema, as the upstream generate step does at build time.
func versionedSchema(schema []byte, v string) []byte {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(schema, &spec); err != nil {
		log.Fatalf("embedded schema.json is not valid JSON: %v", err)
	}
	quoted, _ := json.Marshal(v)
	spec["version"] = quoted
	out, err := json.Marshal(spec)
	if err != nil {
		log.Fatalf("cannot re-encode schema: %v", err)
	}
	return out
}
