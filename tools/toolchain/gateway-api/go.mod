module classroom-platform/tools/toolchain/gateway-api

go 1.24.0

// Nothing is built from this module: it pins the Gateway API release whose CRDs (config/crd/standard in
// the module zip) the local control plane installs, and go.sum pins the zip's checksum.

require sigs.k8s.io/gateway-api v1.4.0 // indirect
