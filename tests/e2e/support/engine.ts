import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { EngineEvent, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { EngineProject, EngineProjectOptions, PROJECT_ROOT } from "../../../tools/engine/automation";
import { ToolMissingError } from "../../../tools/toolchain/toolchain";

/** The test-only stand-in for the `random` plugin (tests/fixtures/random-provider/README.md). */
export const RANDOM_STAND_IN = path.join(PROJECT_ROOT, "tests/fixtures/random-provider");
/** The project's policy pack (its folder, for its config files). */
export const POLICY_PACK = path.join(PROJECT_ROOT, "policies");
/**
 * The same pack as the engine is given it here: an executable that runs policies/ without the Node
 * language host (policy-pack/classroom-policies). Pass it as `policyPacks: [POLICY_PACK_EXECUTABLE]`.
 */
export const POLICY_PACK_EXECUTABLE = path.join(__dirname, "policy-pack", "classroom-policies");

/** Config every stack under test gets: nothing becomes ready without kubelets, so nothing is awaited. */
export const SKIP_AWAIT = { "classroom:skipAwait": "true" };

/**
 * A temporary copy of the project wired to the real engine with the test stand-in for the random
 * provider (a Pulumi.yaml project plugin), nothing from PATH. Missing tools fail the test with the
 * command that builds them, never a skip.
 */
export async function testProject(options: { kubeconfig?: string; program?: PulumiFn } = {}): Promise<EngineProject> {
  const randomVersion = (JSON.parse(fs.readFileSync(require.resolve("@pulumi/random/package.json", { paths: [PROJECT_ROOT] }), "utf8")) as { version: string })
    .version;
  const opts: EngineProjectOptions = {
    program: options.program,
    providers: [{ name: "random", path: RANDOM_STAND_IN, version: randomVersion }],
    env: options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {},
  };
  try {
    return await EngineProject.create(opts);
  } catch (err) {
    if (err instanceof ToolMissingError) {
      throw new Error(`the engine e2e tests need the Go-built Pulumi CLI and Kubernetes provider. ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Every line the engine printed and every event it sent, across all operations of a test file. */
export class RunLog {
  readonly lines: string[] = [];
  readonly events: EngineEvent[] = [];

  /** Options for up/preview/destroy/refresh that record everything here. */
  capture(): { onOutput: (s: string) => void; onError: (s: string) => void; onEvent: (e: EngineEvent) => void } {
    return {
      onOutput: (s) => this.lines.push(s),
      onError: (s) => this.lines.push(s),
      onEvent: (e) => this.events.push(e),
    };
  }

  /**
   * Everything a user or CI sees, as one text for searching: every printed line and every event except
   * debug diagnostics. Those are left out on purpose: the Node SDK logs each RegisterResource response at
   * debug level, secret outputs included in plain text, and they surface only with --debug / -v or in a
   * full --event-log (see tests/e2e/README.md).
   */
  text(): string {
    const shown = this.events.filter((e) => String(e.diagnosticEvent?.severity) !== "debug");
    return `${this.lines.join("")}\n${shown.map((e) => JSON.stringify(e)).join("\n")}`;
  }

  /** The debug diagnostics text that text() leaves out. */
  debugText(): string {
    return this.events
      .filter((e) => String(e.diagnosticEvent?.severity) === "debug")
      .map((e) => JSON.stringify(e))
      .join("\n");
  }
}

/** The operations a preview plans, without `same`: empty means "no changes". */
export function plannedChanges(summary: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(summary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0)) as Record<string, number>;
}

/** The URNs a preview's events plan a given operation for (e.g. `replace`), with the keys that cause it. */
export function stepsOf(events: EngineEvent[], op: string): Array<{ urn: string; type: string; keys: string[]; diffs: string[] }> {
  return events
    .map((e) => e.resourcePreEvent?.metadata)
    .filter((m): m is NonNullable<typeof m> => !!m && m.op === op)
    .map((m) => ({ urn: m.urn, type: m.type, keys: m.keys ?? [], diffs: m.diffs ?? [] }));
}

/** The stack's raw checkpoint as the backend stores it (secrets encrypted), via `pulumi stack export`. */
export async function exportedState(stack: Stack): Promise<string> {
  return JSON.stringify(await stack.exportStack());
}

export { EngineProject };

/** What previewInChild saw: the outcome, the engine's error when it failed, and every event. */
export interface ChildPreview {
  ok: boolean;
  error?: string;
  changeSummary?: Record<string, number>;
  events: EngineEvent[];
}

/**
 * A preview of `stack` of `project` in a child process: for previews expected to fail, whose aborted
 * inline program would otherwise reject promises inside the test process (support/engine-main.ts).
 */
export async function previewInChild(project: EngineProject, stack: string, env: Record<string, string> = {}): Promise<ChildPreview> {
  const tsx = path.join(PROJECT_ROOT, "node_modules/tsx/dist");
  const { stdout } = await promisify(execFile)(
    path.join(PROJECT_ROOT, "node_modules/node/bin/node"),
    [
      "--require",
      path.join(tsx, "preflight.cjs"),
      "--import",
      `file://${path.join(tsx, "loader.mjs")}`,
      path.join(__dirname, "engine-main.ts"),
      project.workDir,
      stack,
      JSON.stringify(env),
    ],
    { cwd: PROJECT_ROOT, maxBuffer: 512 * 1024 * 1024, timeout: 600_000 },
  );
  return JSON.parse(stdout) as ChildPreview;
}
