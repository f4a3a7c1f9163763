import * as fs from "node:fs";
import * as path from "node:path";
import type { PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { EngineProject } from "../../tools/engine/automation";
import { PROJECT_ROOT } from "../../tools/synth";
import { withCheckout } from "../../tools/synth/lib/baseline";
import { RunLog, plannedChanges, stepsOf, testProject } from "./support/engine";
import { ChildSynth, synthInChild } from "./support/synth";

// "A rename ships with an alias", under the real engine: the render-only `local` stack (no control plane)
// is deployed, then previewed with a checkout of HEAD whose data-layer builder gives every StatefulSet a
// new resource name. With the alias the engine plans nothing; without it, it plans to create the renamed
// StatefulSets and delete the deployed ones. Synth's URNs are checked against the engine's state too,
// since `synth --baseline` relies on them.

jest.setTimeout(600_000);

const STACK = "local";
const BUILDER = "components/shared/data-workload.ts";
const DECLARATION = /new k8s\.apps\.v1\.StatefulSet\(args\.name, dataStatefulSet\(args, headlessName\), \{ \.\.\.opts, dependsOn: \[headless\] \}\)/;

let project: EngineProject;
let renderDir: string;
let synth: ChildSynth;
let deployedUrns: string[];
const log = new RunLog();

beforeAll(async () => {
  project = await testProject();
  renderDir = path.join(project.workDir, "render-local");
  const stack = await project.stack(STACK, { "classroom:renderYamlToDirectory": renderDir });
  synth = await synthInChild(STACK, project.stackFile(STACK));
  expect((await stack.up(log.capture())).summary.result).toBe("succeeded");
  const state = await stack.exportStack();
  deployedUrns = (state.deployment.resources as { urn: string }[]).map((r) => r.urn);
});

afterAll(() => project?.dispose());

/** A preview of the deployed stack by the platform program of a checkout of HEAD with every StatefulSet renamed. */
async function previewRenamed(withAlias: boolean): Promise<{ changes: Record<string, number>; created: string[]; deleted: string[] }> {
  return withCheckout("HEAD", PROJECT_ROOT, async (checkout) => {
    const file = path.join(checkout, BUILDER);
    const source = fs.readFileSync(file, "utf8");
    expect(source).toMatch(DECLARATION);
    const alias = withAlias ? ", aliases: [{ name: args.name }]" : "";
    fs.writeFileSync(
      file,
      source.replace(
        DECLARATION,
        `new k8s.apps.v1.StatefulSet(\`\${args.name}-statefulset\`, dataStatefulSet(args, headlessName), { ...opts, dependsOn: [headless]${alias} })`,
      ),
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { platformProgram } = require(path.join(checkout, "infra", "program.ts")) as { platformProgram: () => unknown };
    const renamed = await EngineProject.open(project.workDir, { program: platformProgram as PulumiFn });
    const stack: Stack = await renamed.stack(STACK, { "classroom:renderYamlToDirectory": renderDir });
    const previewLog = new RunLog();
    const preview = await stack.preview(previewLog.capture());
    return {
      changes: plannedChanges(preview.changeSummary),
      created: stepsOf(previewLog.events, "create").map((s) => s.urn),
      deleted: stepsOf(previewLog.events, "delete").map((s) => s.urn),
    };
  });
}

describe("a renamed data-layer child under the real engine", () => {
  it("synth computes the URNs the engine records (parent chain included)", () => {
    const engineAdded = (urn: string) => /::pulumi:pulumi:Stack::|::pulumi:providers:[^:]+::default/.test(urn);
    expect(synth.identities.map((r) => r.urn).sort()).toEqual(deployedUrns.filter((u) => !engineAdded(u)).sort());
  });

  it("plans no change when the rename ships with an alias", async () => {
    const { changes } = await previewRenamed(true);
    expect(changes).toEqual({});
  });

  it("plans to create the renamed StatefulSets and delete the deployed ones without the alias", async () => {
    const { changes, created, deleted } = await previewRenamed(false);
    expect(changes).toEqual(expect.objectContaining({ create: 4, delete: 4 }));
    const zookeeper = "classroom:data:ZooKeeper$kubernetes:apps/v1:StatefulSet::zookeeper";
    expect(created).toContainEqual(expect.stringContaining(`${zookeeper}-statefulset`));
    expect(deleted).toContainEqual(expect.stringMatching(new RegExp(`${zookeeper.replace(/\$/g, "\\$")}$`)));
  });
});
