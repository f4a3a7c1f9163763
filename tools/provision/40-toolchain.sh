#!/usr/bin/env bash
# The tools built from the Go module proxy: etcd, kube-apiserver, kube-controller-manager, kubectl, the
# Pulumi CLI, the Kubernetes provider plugin, the Gateway API CRDs and the log agent's otelcol
# (tools/toolchain/build.sh).
# Cached outside the repository keyed by version, so a second run takes seconds; tools already on PATH at
# the exact version are used instead. Cold on a 2-core machine: about 20 minutes (see README).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash tools/toolchain/build.sh
# Installs the provider plugin into the project's PULUMI_HOME now rather than in the first test.
npm run -s engine -- env --no-build >/dev/null
