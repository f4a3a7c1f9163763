import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { parse, stringify } from "yaml";
import { engineEnv } from "./engine-env";

// The real Pulumi engine driven through the Automation API, the way the end-to-end tests and the engine
// bench run it: an inline program (no Node language host needed), the project's Pulumi.yaml and a COPY
// of stacks/ in a temporary folder (so nothing in the repository is ever modified), a file:// backend
// and a passphrase in that folder, and the offline settings from engine-env.

/** Folder of the file:// backend inside a temporary project. */
const BACKEND_FOLDER = ".backend";

/** The repository root: the folder holding Pulumi.yaml. */
export const PROJECT_ROOT = path.resolve(__dirname, "../..");

/**
 * A plugin the engine takes from a folder instead of PULUMI_HOME: a Pulumi.yaml "project plugin".
 * The folder holds the executable `pulumi-<kind>-<name>`.
 */
export interface FolderPlugin {
  /** Plugin name, e.g. `random` (resource) or `policy-nodejs` (analyzer). */
  name: string;
  /** Folder holding the executable. */
  path: string;
  /** Version the plugin claims; must equal what the SDK asks for when set. Default: unset (any). */
  version?: string;
}

/** Options of EngineProject.create. */
export interface EngineProjectOptions {
  /** The program every stack runs (Pulumi.yaml's config declarations are dropped for it). Default: platformProgram, the one infra/index.ts runs. */
  program?: PulumiFn;
  /** Resource plugins from folders (test stand-ins). Default none: PULUMI_HOME only. */
  providers?: FolderPlugin[];
  /** Analyzer plugins from folders (a policy-pack runner). Default none. */
  analyzers?: FolderPlugin[];
  /** Variables for every engine command (KUBECONFIG, ...), on top of the offline settings. Default none. */
  env?: Record<string, string>;
  /** Build a missing Pulumi CLI or Kubernetes provider (minutes). Default false: throw ToolMissingError. */
  build?: boolean;
  /** Where Pulumi.yaml and stacks/ are copied from. Default: the repository root. */
  projectRoot?: string;
}

/**
 * A temporary copy of the Pulumi project that the real engine runs against. Every stack of it shares
 * one backend and one passphrase; `dispose()` removes the folder with state, copies and all.
 */
export class EngineProject {
  private constructor(
    /** The temporary project folder (cwd of every engine command). */
    readonly workDir: string,
    /** The copy of stacks/ that the engine reads and writes (point the release CLI's --stacks-dir here). */
    readonly stacksDir: string,
    /** The file:// backend's folder: `.pulumi/stacks/<project>/<stack>.json` holds each checkpoint. */
    readonly backendDir: string,
    /** Project name from Pulumi.yaml. */
    readonly projectName: string,
    private readonly command: PulumiCommand,
    private readonly envVars: Record<string, string>,
    private readonly program: PulumiFn,
  ) {}

  /** Copies the project into a new temporary folder (with its own backend) and opens it. */
  static async create(options: EngineProjectOptions = {}): Promise<EngineProject> {
    const root = options.projectRoot ?? PROJECT_ROOT;
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-engine-"));
    try {
      const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as Record<string, any>;
      const stackConfigDir: string = project.stackConfigDir ?? ".";
      fs.cpSync(path.join(root, stackConfigDir), path.join(workDir, stackConfigDir), { recursive: true, filter: (src) => !src.endsWith("~") });
      const plugins: Record<string, FolderPlugin[]> = {};
      if (options.providers?.length) plugins.providers = options.providers;
      if (options.analyzers?.length) plugins.analyzers = options.analyzers;
      // An inline program needs no `main`; the runtime stays nodejs so policy packs see a nodejs project.
      delete project.main;
      // The declared config keys describe the platform program; another program (a test's) has its own.
      if (options.program) delete project.config;
      if (Object.keys(plugins).length) project.plugins = plugins;
      fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), stringify(project));
      fs.mkdirSync(path.join(workDir, BACKEND_FOLDER));
      return await EngineProject.open(workDir, options);
    } catch (err) {
      fs.rmSync(workDir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Opens a folder that create() prepared, e.g. from another process: its Pulumi.yaml, stack copies and
   * backend as they are. Only `program`, `env` and `build` of the options apply.
   */
  static async open(workDir: string, options: EngineProjectOptions = {}): Promise<EngineProject> {
    const engine = engineEnv({ build: options.build ?? false });
    const project = parse(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8")) as Record<string, any>;
    const backendDir = path.join(workDir, BACKEND_FOLDER);
    const envVars: Record<string, string> = {
      ...engine.env,
      PULUMI_BACKEND_URL: `file://${backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: "classroom-engine-tests",
      // Plugins come from PULUMI_HOME and the project's folders only, never from whatever is on PATH.
      PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
      ...options.env,
    };
    const command = await PulumiCommand.get({ root: path.dirname(path.dirname(engine.pulumi)), skipVersionCheck: true });
    const program = options.program ?? (await defaultProgram());
    const stacksDir = path.join(workDir, project.stackConfigDir ?? ".");
    return new EngineProject(workDir, stacksDir, backendDir, String(project.name), command, envVars, program);
  }

  /** The stack file the engine reads for `stack` (the temporary copy). */
  stackFile(stack: string): string {
    return path.join(this.stacksDir, `Pulumi.${stack}.yaml`);
  }

  /** The backend's checkpoint of `stack` (state as the file backend stores it, secrets encrypted). */
  checkpointFile(stack: string): string {
    return path.join(this.backendDir, ".pulumi", "stacks", this.projectName, `${stack}.json`);
  }

  /**
   * Selects (creating on first use) a stack running the project's program. `config` is written into the
   * temporary stack file first (`classroom:skipAwait` and the like), on top of what the repository's has.
   */
  async stack(name: string, config: Record<string, string> = {}): Promise<Stack> {
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: name, projectName: this.projectName, program: this.program },
      { workDir: this.workDir, pulumiCommand: this.command, envVars: this.envVars, secretsProvider: "passphrase" },
    );
    if (Object.keys(config).length) {
      await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
    }
    return stack;
  }

  /** Variables every engine command runs with (for spawning the CLI directly, e.g. `pulumi stack export`). */
  get env(): Record<string, string> {
    return { ...this.envVars };
  }

  /** Removes the temporary project: stack copies, backend and state. */
  dispose(): void {
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Loaded lazily so that importing this module does not load the platform (and @pulumi/kubernetes). */
async function defaultProgram(): Promise<PulumiFn> {
  const { platformProgram } = await import("../../infra/program");
  const { ConfigError } = await import("../../infra/config");
  const { RunError } = await import("@pulumi/pulumi");
  // As infra/index.ts does: bad config is the user's input, reported as a plain message.
  return async () => {
    try {
      return platformProgram() as unknown as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ConfigError) throw new RunError(`invalid stack configuration:\n${err.message}`);
      throw err;
    }
  };
}
