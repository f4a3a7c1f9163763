import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The tools that tools/toolchain/build.sh builds from the Go module proxy. */
export type ToolName = "etcd" | "kubernetes" | "pulumi" | "pulumi-resource-kubernetes" | "gateway-api" | "otelcol" | "prometheus-operator";

const TOOLCHAIN_DIR = __dirname;
const BUILD_SCRIPT = path.join(TOOLCHAIN_DIR, "build.sh");

/** Versions pinned in tools/toolchain/versions.env, the one place both build.sh and this module read. */
export interface ToolVersions {
  etcd: string;
  kubernetes: string;
  pulumi: string;
  providerModule: string;
  providerPlugin: string;
  gatewayApi: string;
  /** The contrib release of the log agent's collector (and of its upstream image). */
  otelcol: string;
  prometheusOperator: string;
}

export function toolVersions(): ToolVersions {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(TOOLCHAIN_DIR, "versions.env"), "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  const need = (key: string): string => {
    const v = env[key];
    if (!v) throw new Error(`tools/toolchain/versions.env has no ${key}`);
    return v;
  };
  return {
    etcd: need("ETCD_VERSION"),
    kubernetes: need("KUBERNETES_VERSION"),
    pulumi: need("PULUMI_VERSION"),
    providerModule: need("PROVIDER_MODULE_VERSION"),
    providerPlugin: need("PROVIDER_PLUGIN_VERSION"),
    gatewayApi: need("GATEWAY_API_VERSION"),
    otelcol: need("OTELCOL_VERSION"),
    prometheusOperator: need("PROMETHEUS_OPERATOR_VERSION"),
  };
}

/** `${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}`: everything built or downloaded. */
export function cacheRoot(): string {
  if (process.env.CLASSROOM_CACHE) return process.env.CLASSROOM_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(xdg, "classroom-platform");
}

/**
 * The version the provider binary reports: the plugin version npm @pulumi/kubernetes asks for, with the
 * module snapshot it was really built from as semver build metadata (which version comparison ignores).
 */
export function providerBinaryVersion(v: ToolVersions = toolVersions()): string {
  const snapshot = v.providerModule.replace(/^v4\.0\.0-/, "").replace(/-/g, ".");
  return `${v.providerPlugin}+snapshot.${snapshot}`;
}

/** The cache folder of one tool, keyed by version (the same names build.sh uses). */
export function toolFolder(tool: ToolName, v: ToolVersions = toolVersions()): string {
  const base = path.join(cacheRoot(), "tools");
  switch (tool) {
    case "etcd":
      return path.join(base, `etcd-${v.etcd}`);
    case "kubernetes":
      return path.join(base, `kubernetes-${v.kubernetes}`);
    case "pulumi":
      return path.join(base, `pulumi-${v.pulumi}`);
    case "pulumi-resource-kubernetes":
      return path.join(base, `pulumi-resource-kubernetes-${providerBinaryVersion(v)}`);
    case "gateway-api":
      return path.join(base, `gateway-api-${v.gatewayApi}`);
    case "otelcol":
      return path.join(base, `otelcol-${v.otelcol}`);
    case "prometheus-operator":
      return path.join(base, `prometheus-operator-${v.prometheusOperator}`);
  }
}

/** Raised when a tool is neither on PATH at the wanted version nor built; the message says what to run. */
export class ToolMissingError extends Error {
  constructor(
    readonly tool: ToolName,
    detail: string,
  ) {
    super(
      `${tool} is not available: ${detail}. Build it with 'bash tools/toolchain/build.sh ${tool}' ` +
        `(or every tool with 'bash tools/provision/40-toolchain.sh'; cold builds take minutes, see README).`,
    );
    this.name = "ToolMissingError";
  }
}

/** Where a binary on PATH lives, or undefined. */
export function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function versionOutput(binary: string, args: string[]): string {
  const r = spawnSync(binary, args, { encoding: "utf8", timeout: 20_000 });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`;
}

/** A folder is trusted only when build.sh wrote its stamp after a successful build. */
function builtFolder(tool: ToolName): string | undefined {
  const folder = toolFolder(tool);
  return fs.existsSync(path.join(folder, ".built")) ? folder : undefined;
}

/** Paths of the control-plane binaries: from PATH when every one is the exact version, else from the cache. */
export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  /** Folder holding the Gateway API standard CRD manifests. */
  gatewayCrds: string;
  /** Folder holding the prometheus-operator CRD manifests (PodMonitor, PrometheusRule, ...). */
  monitoringCrds: string;
}

export function controlPlaneBinaries(): ControlPlaneBinaries {
  const v = toolVersions();
  const etcd = findEtcd(v);
  const kube = findKubernetes(v);
  const gateway = builtFolder("gateway-api");
  if (!gateway) throw new ToolMissingError("gateway-api", `no stamped build in ${toolFolder("gateway-api")}`);
  const operator = builtFolder("prometheus-operator");
  if (!operator) throw new ToolMissingError("prometheus-operator", `no stamped build in ${toolFolder("prometheus-operator")}`);
  return { etcd, ...kube, gatewayCrds: path.join(gateway, "crds"), monitoringCrds: path.join(operator, "crds") };
}

function findEtcd(v: ToolVersions): string {
  const fromPath = onPath("etcd");
  if (fromPath && versionOutput(fromPath, ["--version"]).includes(`etcd Version: ${v.etcd}\n`)) return fromPath;
  const folder = builtFolder("etcd");
  if (folder) return path.join(folder, "bin", "etcd");
  throw new ToolMissingError("etcd", `etcd ${v.etcd} is not on PATH and ${toolFolder("etcd")} has no stamped build`);
}

function findKubernetes(v: ToolVersions): Omit<ControlPlaneBinaries, "etcd" | "gatewayCrds" | "monitoringCrds"> {
  const want = `v${v.kubernetes}`;
  const apiserver = onPath("kube-apiserver");
  const manager = onPath("kube-controller-manager");
  const kubectl = onPath("kubectl");
  if (
    apiserver &&
    manager &&
    kubectl &&
    versionOutput(apiserver, ["--version"]).trim() === `Kubernetes ${want}` &&
    versionOutput(manager, ["--version"]).trim() === `Kubernetes ${want}` &&
    versionOutput(kubectl, ["version", "--client"]).includes(`Client Version: ${want}\n`)
  ) {
    return { kubeApiserver: apiserver, kubeControllerManager: manager, kubectl };
  }
  const folder = builtFolder("kubernetes");
  if (!folder) {
    throw new ToolMissingError("kubernetes", `kube-apiserver ${want} is not on PATH and ${toolFolder("kubernetes")} has no stamped build`);
  }
  const bin = path.join(folder, "bin");
  return {
    kubeApiserver: path.join(bin, "kube-apiserver"),
    kubeControllerManager: path.join(bin, "kube-controller-manager"),
    kubectl: path.join(bin, "kubectl"),
  };
}

/**
 * The log agent's collector: an `otelcol` on PATH that reports the pinned release, else the stamped build,
 * else undefined (the tests then say how to build it).
 */
export function otelcolBinary(): string | undefined {
  const v = toolVersions();
  const fromPath = onPath("otelcol");
  if (fromPath && versionOutput(fromPath, ["--version"]).trim() === `otelcol version ${v.otelcol}`) return fromPath;
  const folder = builtFolder("otelcol");
  return folder ? path.join(folder, "bin", "otelcol") : undefined;
}

/** Runs build.sh for the given tools (skipping stamped ones), its progress on stderr. Throws on failure. */
export function buildTools(tools: ToolName[]): void {
  const r = spawnSync("bash", [BUILD_SCRIPT, ...tools], { stdio: ["ignore", process.stderr, process.stderr] });
  if (r.status !== 0) {
    throw new Error(`building ${tools.join(", ")} failed (exit ${r.status ?? r.signal}); build.sh printed the log path above`);
  }
}

/** `major.minor.patch` of a version string like `v3.274.1`, for comparisons. */
export function parseSemver(text: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function semverAtLeast(have: [number, number, number], floor: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== floor[i]) return have[i] > floor[i];
  return true;
}

/** Output of a short command, for tools that must answer quickly (`pulumi version`). */
export function quickOutput(binary: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(binary, args, { encoding: "utf8", timeout: 30_000, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
}
