import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../../tools/engine/automation";
import type { RenderedObject, ResourceIdentity } from "../../../tools/synth";

/** What synth renders for a stack, as the engine tests compare it. */
export interface ChildSynth {
  objects: RenderedObject[];
  resources: { type: string; name: string }[];
  /** Every resource's URN as synth computes it (parent chain, aliases). */
  identities: ResourceIdentity[];
  schemaProblems: { key: string; errors: string[] }[];
  /** Seconds the render took inside the child (without process and module start-up). */
  seconds: number;
}

/**
 * Synth of `stack` from `stackFile` (the engine's temporary copy, so both see the same config), in a
 * child process: Pulumi's mocks must not share a runtime with the engine's inline program.
 */
export async function synthInChild(stack: string, stackFile: string): Promise<ChildSynth> {
  const node = path.join(PROJECT_ROOT, "node_modules/node/bin/node");
  const tsx = path.join(PROJECT_ROOT, "node_modules/tsx/dist");
  const { stdout } = await promisify(execFile)(
    node,
    [
      "--require",
      path.join(tsx, "preflight.cjs"),
      "--import",
      `file://${path.join(tsx, "loader.mjs")}`,
      path.join(__dirname, "synth-main.ts"),
      stack,
      stackFile,
    ],
    { cwd: PROJECT_ROOT, maxBuffer: 256 * 1024 * 1024, timeout: 300_000 },
  );
  return JSON.parse(stdout) as ChildSynth;
}

/** `Kind/namespace/name` (namespace empty for cluster-scoped kinds): how objects are compared. */
export function identity(o: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  return `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
}
