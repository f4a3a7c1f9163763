import * as path from "node:path";
import { startTestCluster, TestCluster } from "../harness/cluster";
import { EngineProject, SKIP_AWAIT, testProject } from "../e2e/support/engine";
import { synthInChild } from "../e2e/support/synth";

// `npm run bench:engine`: one run of every stack through the real Pulumi engine (Automation API, inline
// platform program) against a local control plane started here, beside synth under Pulumi's mocks as the
// baseline measured in the same run. Prints one JSON object. The tools must be built first
// (bash tools/provision/40-toolchain.sh); without them this fails naming the build command.

const CLUSTER_STACKS = ["dev", "staging", "prod"] as const;

interface StackNumbers {
  /** Pulumi resources the program declares (synth's count, components and random values included). */
  resources: number;
  /** Kubernetes objects the program declares. */
  objects: number;
  /** Baseline: synth under mocks, render only (inside its process) and with process start-up. */
  synthSeconds: number;
  synthProcessSeconds: number;
  /** Real engine: preview of a new stack, up, a second preview that plans nothing, destroy. */
  previewSeconds: number;
  upSeconds: number;
  noChangePreviewSeconds: number;
  destroySeconds?: number;
  /** Resources the engine created in up (providers and the stack resource included). */
  created: number;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - started) / 1e9];
}

const round = (s: number) => Math.round(s * 100) / 100;

async function benchStack(project: EngineProject, name: string, config: Record<string, string>, destroy: boolean): Promise<StackNumbers> {
  const stack = await project.stack(name, config);
  const [synth, synthProcessSeconds] = await timed(() => synthInChild(name, project.stackFile(name)));
  const [, previewSeconds] = await timed(() => stack.preview());
  const [up, upSeconds] = await timed(() => stack.up());
  if (up.summary.result !== "succeeded") throw new Error(`up of ${name} ended ${up.summary.result}`);
  const [again, noChangePreviewSeconds] = await timed(() => stack.preview());
  const changes = Object.entries(again.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
  if (changes.length) throw new Error(`the second preview of ${name} plans changes: ${JSON.stringify(again.changeSummary)}`);
  const destroySeconds = destroy ? (await timed(() => stack.destroy()))[1] : undefined;
  return {
    resources: synth.resources.length,
    objects: synth.objects.length,
    synthSeconds: round(synth.seconds),
    synthProcessSeconds: round(synthProcessSeconds),
    previewSeconds: round(previewSeconds),
    upSeconds: round(upSeconds),
    noChangePreviewSeconds: round(noChangePreviewSeconds),
    ...(destroySeconds !== undefined ? { destroySeconds: round(destroySeconds) } : {}),
    created: up.summary.resourceChanges?.create ?? 0,
  };
}

async function main(): Promise<void> {
  let cluster: TestCluster | undefined;
  let project: EngineProject | undefined;
  try {
    const [started, clusterSeconds] = await timed(() => startTestCluster());
    cluster = started;
    project = await testProject({ kubeconfig: cluster.kubeconfigPath });
    const stacks: Record<string, StackNumbers> = {};
    for (const name of CLUSTER_STACKS) stacks[name] = await benchStack(project, name, SKIP_AWAIT, true);
    stacks.local = await benchStack(project, "local", { "classroom:renderYamlToDirectory": path.join(project.workDir, "render-local") }, false);
    console.log(
      JSON.stringify(
        {
          bench: "engine",
          note: "seconds on this machine, one run; baseline = synth under Pulumi's mocks of the same stack file in the same run",
          controlPlaneStartSeconds: round(clusterSeconds),
          stacks,
          ratioUpToSynth: Object.fromEntries(Object.entries(stacks).map(([n, s]) => [n, round(s.upSeconds / s.synthSeconds)])),
        },
        null,
        2,
      ),
    );
  } finally {
    project?.dispose();
    await cluster?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:engine: ${err.message}`);
    process.exit(1);
  },
);
