#!/usr/bin/env bash
# Builds the tools that come from the Go module proxy into a version-keyed cache outside the repository:
#   etcd, kubernetes (kube-apiserver, kube-controller-manager, kubectl), pulumi,
#   pulumi-resource-kubernetes (the provider plugin), gateway-api and prometheus-operator (CRD manifests,
#   nothing compiled), otelcol (the log agent's OpenTelemetry Collector with only the components the platform uses).
# Usage: build.sh [--force] [tool ...]   (no tool: all of them, one at a time, in the order above)
#
# A tool's folder is trusted only when its stamp file (.built), written after a successful build, exists;
# a stamped tool is skipped. etcd and the Kubernetes binaries already on PATH at the exact version, and a
# pulumi on PATH at the pinned version or newer, are used instead of a build (the provider is always ours).
# Each build runs at lower priority with limited parallelism (the provider alone peaks at ~5 GB), logs to
# <cache>/tools/<name>-<version>.log, and is killed after BUILD_TIMEOUT seconds: it never hangs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/tools"
build_timeout="${BUILD_TIMEOUT:-2400}"
all_tools=(etcd kubernetes pulumi pulumi-resource-kubernetes gateway-api prometheus-operator otelcol)

# The provider's own version stamp: the plugin version the npm SDK asks for, with the snapshot it really
# is in the semver build metadata (ignored when the engine compares versions; see README.md here).
provider_snapshot="${PROVIDER_MODULE_VERSION#v4.0.0-}"            # 20260115033456-f47bc2d6f199
provider_stamp="${PROVIDER_PLUGIN_VERSION}+snapshot.${provider_snapshot//-/.}"

die() { echo "toolchain: $*" >&2; exit 1; }

folder_of() {
  case "$1" in
    etcd) echo "$cache/etcd-$ETCD_VERSION" ;;
    kubernetes) echo "$cache/kubernetes-$KUBERNETES_VERSION" ;;
    pulumi) echo "$cache/pulumi-$PULUMI_VERSION" ;;
    pulumi-resource-kubernetes) echo "$cache/pulumi-resource-kubernetes-$provider_stamp" ;;
    gateway-api) echo "$cache/gateway-api-$GATEWAY_API_VERSION" ;;
    otelcol) echo "$cache/otelcol-$OTELCOL_VERSION" ;;
    prometheus-operator) echo "$cache/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION" ;;
    *) die "unknown tool '$1'; allowed: ${all_tools[*]}" ;;
  esac
}

# Prints where the tool is on PATH when every binary it provides reports exactly the wanted version.
on_path() {
  local v
  case "$1" in
    etcd)
      command -v etcd >/dev/null || return 1
      v="$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
      [ "$v" = "$ETCD_VERSION" ] && dirname "$(command -v etcd)" ;;
    kubernetes)
      local b
      for b in kube-apiserver kube-controller-manager; do
        command -v "$b" >/dev/null || return 1
        v="$("$b" --version 2>/dev/null | awk '{print $2}')"
        [ "$v" = "v$KUBERNETES_VERSION" ] || return 1
      done
      command -v kubectl >/dev/null || return 1
      kubectl version --client 2>/dev/null | grep -qx "Client Version: v$KUBERNETES_VERSION" || return 1
      dirname "$(command -v kube-apiserver)" ;;
    pulumi)
      command -v pulumi >/dev/null || return 1
      # Any release at or above the pinned one will do (the floor of tools/engine/engine-env.ts).
      v="$(pulumi version 2>/dev/null)"; v="${v#v}"
      [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
      [ "$(printf '%s\n%s\n' "$PULUMI_VERSION" "$v" | sort -V | head -n1)" = "$PULUMI_VERSION" ] && dirname "$(command -v pulumi)" ;;
    otelcol)
      command -v otelcol >/dev/null || return 1
      [ "$(otelcol --version 2>/dev/null)" = "otelcol version $OTELCOL_VERSION" ] && dirname "$(command -v otelcol)" ;;
    *) return 1 ;;
  esac
}

# Refuses to build when a wrapper's go.mod has drifted from versions.env.
check_pin() {
  local mod="$here/$1/go.mod" want="$2"
  grep -qF "$want" "$mod" || { echo "$mod does not contain '$want': versions.env and go.mod disagree; make them match"; return 1; }
}

go_build() { # go_build <module folder> <output file, or folder ending in /> <ldflags> <packages...>
  local module="$1" out="$2" ldflags="$3"; shift 3
  case "$out" in */) mkdir -p "$out" ;; *) mkdir -p "$(dirname "$out")" ;; esac
  local rc=0
  (cd "$here/$module" && nice -n 10 timeout --kill-after=30 "$build_timeout" \
    go build -mod=readonly -trimpath -ldflags="-s -w $ldflags" -o "$out" "$@") || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "go build was stopped after BUILD_TIMEOUT=$build_timeout s; on a slow or loaded machine raise BUILD_TIMEOUT"
  fi
  return "$rc"
}

build_one() { # build_one <tool> <staging dir>; the binaries or files go to <staging dir>/bin or /crds
  local tool="$1" stage="$2" x="" p
  case "$tool" in
    etcd)
      check_pin etcd "go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
      go_build etcd "$stage/bin/etcd" "" go.etcd.io/etcd/server/v3 ;;
    kubernetes)
      check_pin kubernetes "k8s.io/kubernetes v$KUBERNETES_VERSION"
      # Without these stamps the server reports v0.0.0-master, which kubectl and clients cannot parse.
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        x+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=${KUBERNETES_VERSION%%.*}"
        x+=" -X $p.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X $p.gitTreeState=clean"
      done
      go_build kubernetes "$stage/bin/" "$x" k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl ;;
    pulumi)
      check_pin pulumi "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION"
      check_pin pulumi "github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION"
      # Without this stamp `pulumi version` prints nothing and plugin version checks misbehave.
      go_build pulumi "$stage/bin/pulumi" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ;;
    pulumi-resource-kubernetes)
      check_pin pulumi-resource-kubernetes "github.com/pulumi/pulumi-kubernetes/provider/v4 $PROVIDER_MODULE_VERSION"
      local src
      src="$(cd "$here/pulumi-resource-kubernetes" && timeout 600 go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      install -m 0644 "$src/cmd/pulumi-resource-kubernetes/schema.json" \
        "$src/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$here/pulumi-resource-kubernetes/"
      go_build pulumi-resource-kubernetes "$stage/bin/pulumi-resource-kubernetes" \
        "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$provider_stamp" .
      printf '{"plugin":"kubernetes","sdkAsksFor":"%s","binaryVersion":"%s","module":"github.com/pulumi/pulumi-kubernetes/provider/v4@%s"}\n' \
        "$PROVIDER_PLUGIN_VERSION" "$provider_stamp" "$PROVIDER_MODULE_VERSION" > "$stage/ORIGIN.json" ;;
    gateway-api)
      check_pin gateway-api "sigs.k8s.io/gateway-api v$GATEWAY_API_VERSION"
      local dir
      dir="$(cd "$here/gateway-api" && timeout 600 go mod download -json sigs.k8s.io/gateway-api | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      [ -d "$dir/config/crd/standard" ] || { echo "no config/crd/standard in '$dir'"; return 1; }
      mkdir -p "$stage/crds"
      install -m 0644 "$dir"/config/crd/standard/*.yaml "$stage/crds/" ;;
    otelcol)
      # Every collector module at one release: a mixed set compiles against mismatched internal APIs.
      check_pin otelcol "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver v$OTELCOL_VERSION"
      check_pin otelcol "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter v$OTELCOL_VERSION"
      check_pin otelcol "go.opentelemetry.io/collector/otelcol v$OTELCOL_CORE_VERSION"
      check_pin otelcol "go.opentelemetry.io/collector/component v$OTELCOL_CORE_STABLE_VERSION"
      go_build otelcol "$stage/bin/otelcol" "-X main.version=$OTELCOL_VERSION" . ;;
    prometheus-operator)
      check_pin prometheus-operator "github.com/prometheus-operator/prometheus-operator v$PROMETHEUS_OPERATOR_VERSION"
      local dir
      dir="$(cd "$here/prometheus-operator" && timeout 600 go mod download -json github.com/prometheus-operator/prometheus-operator | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      [ -d "$dir/example/prometheus-operator-crd" ] || { echo "no example/prometheus-operator-crd in '$dir'"; return 1; }
      mkdir -p "$stage/crds"
      install -m 0644 "$dir"/example/prometheus-operator-crd/*.yaml "$stage/crds/" ;;
  esac
}

ensure() { # ensure <tool> <force>
  local tool="$1" force="$2" folder log found start secs stage rc
  folder="$(folder_of "$tool")"
  log="$folder.log"
  if [ "$force" = 0 ] && [ -f "$folder/.built" ]; then
    echo "toolchain: $tool cached in $folder"; return 0
  fi
  if [ "$force" = 0 ] && found="$(on_path "$tool")"; then
    echo "toolchain: $tool found on PATH in $found at the wanted version; not building it"; return 0
  fi
  echo "toolchain: building $tool into $folder (log: $log)"
  stage="$folder.partial"
  rm -rf "$stage"; mkdir -p "$stage"
  start=$(date +%s)
  # A subshell with its own errexit: any failing step fails the build (errexit is off inside `if`).
  set +e; ( set -e; build_one "$tool" "$stage" ) >"$log" 2>&1; rc=$?; set -e
  if [ "$rc" != 0 ]; then
    rm -rf "$stage"
    echo "----- last lines of $log -----" >&2
    tail -n 25 "$log" >&2
    die "building $tool failed after $(( $(date +%s) - start )) s; the full log is $log. Fix what it names \
(often memory: the provider needs ~5 GB; or network: the Go module proxy), then run 'bash $here/build.sh $tool' again."
  fi
  secs=$(( $(date +%s) - start ))
  printf 'tool=%s\nbuilt=%s\nseconds=%s\ngo=%s\n' "$tool" "$(date -u +%FT%TZ)" "$secs" "$(go env GOVERSION)" > "$stage/.built.tmp"
  rm -rf "$folder"; mv "$stage" "$folder"
  mv "$folder/.built.tmp" "$folder/.built"   # written last: a folder without it is never trusted
  echo "toolchain: built $tool in ${secs} s"
}

force=0
tools=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) folder_of "$arg" >/dev/null; tools+=("$arg") ;;
  esac
done
[ ${#tools[@]} -gt 0 ] || tools=("${all_tools[@]}")

command -v go >/dev/null || die "'go' is not on PATH; install Go 1.26.6 or newer first"
go_version="$(go env GOVERSION)"; go_version="${go_version#go}"
if [ "$(printf '%s\n1.26.6\n' "$go_version" | sort -V | head -n1)" != "1.26.6" ]; then
  die "Go $go_version is too old: pulumi $PULUMI_VERSION needs Go 1.26.6 or newer"
fi
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=2 -buildvcs=false"
mkdir -p "$cache"
# One build at a time, also across concurrent callers (CI steps, test harnesses): a second caller waits.
exec 9>"$cache/.build.lock"
flock 9
for tool in "${tools[@]}"; do ensure "$tool" "$force"; done
