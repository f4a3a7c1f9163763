import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  ToolMissingError,
  buildTools,
  cacheRoot,
  onPath,
  parseSemver,
  providerBinaryVersion,
  quickOutput,
  semverAtLeast,
  toolFolder,
  toolVersions,
} from "../toolchain/toolchain";

/** Options of engineEnv. */
export interface EngineEnvOptions {
  /** Build the CLI and provider from the Go module proxy when missing (minutes). Default false: throw ToolMissingError. */
  build?: boolean;
  /** The environment to complete (PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE are kept when set). Default process.env. */
  baseEnv?: NodeJS.ProcessEnv;
}

/** What engineEnv decided, and the variables that make `pulumi` run offline with the project's plugin. */
export interface EngineEnv {
  /** Variables to add to a child process's environment (or to `export` in a shell). */
  env: Record<string, string>;
  /** The `pulumi` binary that PATH in `env` resolves to. */
  pulumi: string;
  /** Its version, e.g. `v3.274.1`. */
  pulumiVersion: string;
  /** Whether that binary came from PATH (a user's install) rather than the project's cache. */
  pulumiFromPath: boolean;
  /**
   * Plugin version the provider is installed as: what npm @pulumi/kubernetes asks for (4.34.2) plus the
   * snapshot it really is as semver build metadata, which the engine ignores when it selects a plugin.
   */
  providerPluginVersion: string;
  /** The Go module snapshot the provider plugin was really built from (module@version). */
  providerOrigin: string;
}

/**
 * The oldest `pulumi` on PATH that is used instead of the project's build: the version the engine tests
 * were verified with. Older CLIs select plugins and install `--file` plugins differently.
 */
export function pulumiFloor(): string {
  return toolVersions().pulumi;
}

/**
 * Resolves the Pulumi CLI (PATH when recent enough, else the cached build), installs the Kubernetes
 * provider plugin into a project-owned PULUMI_HOME in the cache, and returns the offline settings:
 * no update check, no plugin downloads, a file backend and a passphrase unless the caller set them.
 */
export function engineEnv(options: EngineEnvOptions = {}): EngineEnv {
  const base = options.baseEnv ?? process.env;
  const versions = toolVersions();
  const cli = resolvePulumi(options.build ?? false);
  const provider = resolveProvider(options.build ?? false);
  const pulumiHome = path.join(cacheRoot(), "pulumi-home");
  fs.mkdirSync(pulumiHome, { recursive: true });

  const env: Record<string, string> = {
    PATH: [path.dirname(cli.path), ...(base.PATH ?? "").split(path.delimiter).filter((d) => d && d !== path.dirname(cli.path))].join(path.delimiter),
    PULUMI_HOME: pulumiHome,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  if (!base.PULUMI_BACKEND_URL) {
    const backend = path.join(cacheRoot(), "pulumi-backend");
    fs.mkdirSync(backend, { recursive: true });
    env.PULUMI_BACKEND_URL = `file://${backend}`;
  }
  // Local and test stacks only: a stack meant for a real cluster sets its own passphrase or secrets provider.
  if (base.PULUMI_CONFIG_PASSPHRASE === undefined && base.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    env.PULUMI_CONFIG_PASSPHRASE = "classroom-local-only";
  }
  const pluginVersion = providerBinaryVersion(versions);
  installProviderPlugin(cli.path, pulumiHome, provider, pluginVersion);
  return {
    env,
    pulumi: cli.path,
    pulumiVersion: cli.version,
    pulumiFromPath: cli.fromPath,
    providerPluginVersion: pluginVersion,
    providerOrigin: provider.origin,
  };
}

function resolvePulumi(build: boolean): { path: string; version: string; fromPath: boolean } {
  const floor = parseSemver(pulumiFloor())!;
  const fromPath = onPath("pulumi");
  if (fromPath && !fromPath.startsWith(cacheRoot())) {
    const version = versionOf(fromPath);
    const parsed = version ? parseSemver(version) : undefined;
    if (version && parsed && semverAtLeast(parsed, floor)) return { path: fromPath, version, fromPath: true };
  }
  const cached = path.join(toolFolder("pulumi"), "bin", "pulumi");
  if (!fs.existsSync(path.join(toolFolder("pulumi"), ".built"))) {
    if (!build) throw new ToolMissingError("pulumi", `no pulumi >= ${pulumiFloor()} on PATH and no stamped build in ${toolFolder("pulumi")}`);
    buildTools(["pulumi"]);
  }
  return { path: cached, version: versionOf(cached) ?? `v${toolVersions().pulumi}`, fromPath: false };
}

function resolveProvider(build: boolean): { binary: string; origin: string } {
  const folder = toolFolder("pulumi-resource-kubernetes");
  if (!fs.existsSync(path.join(folder, ".built"))) {
    if (!build) throw new ToolMissingError("pulumi-resource-kubernetes", `no stamped build in ${folder}`);
    buildTools(["pulumi-resource-kubernetes"]);
  }
  const origin = JSON.parse(fs.readFileSync(path.join(folder, "ORIGIN.json"), "utf8")) as { module: string; binaryVersion: string };
  return { binary: path.join(folder, "bin", "pulumi-resource-kubernetes"), origin: origin.module };
}

function versionOf(pulumi: string): string | undefined {
  try {
    return quickOutput(pulumi, ["version"], { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `pulumi plugin install resource kubernetes <version> --file <binary>`, once per binary: a marker next to
 * the installed plugin records which build it is (and its true origin), so a rebuilt binary is reinstalled.
 * Other kubernetes plugin versions in this project-owned PULUMI_HOME are removed, so the engine's choice
 * between two plugins that both match 4.34.2 is never left to chance.
 */
function installProviderPlugin(pulumi: string, pulumiHome: string, provider: { binary: string; origin: string }, version: string): void {
  const plugins = path.join(pulumiHome, "plugins");
  const pluginDir = path.join(plugins, `resource-kubernetes-v${version}`);
  for (const entry of fs.existsSync(plugins) ? fs.readdirSync(plugins) : []) {
    if (entry.startsWith("resource-kubernetes-v") && !entry.startsWith(`resource-kubernetes-v${version}`)) {
      fs.rmSync(path.join(plugins, entry), { recursive: true, force: true });
    }
  }
  const marker = path.join(pluginDir, "classroom-origin.json");
  const stamp = fs.readFileSync(path.join(path.dirname(path.dirname(provider.binary)), ".built"), "utf8");
  const want = JSON.stringify({ origin: provider.origin, build: stamp });
  if (fs.existsSync(path.join(pluginDir, "pulumi-resource-kubernetes")) && readOr(marker) === want) return;
  try {
    execFileSync(pulumi, ["plugin", "install", "resource", "kubernetes", version, "--file", provider.binary, "--reinstall"], {
      env: { ...process.env, PULUMI_HOME: pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    throw new Error(`installing the kubernetes provider plugin ${version} into ${pulumiHome} failed: ${stderr}`, { cause: err });
  }
  fs.writeFileSync(marker, want);
}

function readOr(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The variables as `export NAME='value'` lines for a POSIX shell's eval. PATH becomes the folder of
 * `pulumi` prepended to the shell's own "$PATH", so the caller's PATH (not this process's) is kept.
 */
export function exportLines(result: EngineEnv): string {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return Object.entries(result.env)
    .map(([k, v]) => (k === "PATH" ? `export PATH=${quote(path.dirname(result.pulumi))}:"$PATH"` : `export ${k}=${quote(v)}`))
    .join("\n");
}
