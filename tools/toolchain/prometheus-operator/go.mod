module classroom-platform/tools/toolchain/prometheus-operator

go 1.24.0

// Nothing is built from this module: it pins the prometheus-operator release whose CRDs
// (example/prometheus-operator-crd in the module zip) the local control plane installs, so that
// `synth --server` validates the PodMonitor and PrometheusRule objects; go.sum pins the zip's checksum.

require github.com/prometheus-operator/prometheus-operator v0.85.0 // indirect
