import * as fs from "node:fs";
import { Stack, UpResult } from "@pulumi/pulumi/automation";
import { TestCluster, startTestCluster } from "../harness/cluster";
import { listDeclaredKinds, waitForNamespacesGone } from "./support/cluster-objects";
import { EngineProject, RunLog, SKIP_AWAIT, plannedChanges, testProject } from "./support/engine";
import { generatedSecrets } from "./support/secrets";
import { ChildSynth, identity, synthInChild } from "./support/synth";

// Every cluster stack through the real Pulumi engine (Automation API, inline platform program) against a
// real kube-apiserver started here: up, a second preview that plans nothing, the API server holding
// exactly what synth renders, no generated password in state or logs, and a destroy that leaves nothing.
// Stacks run one after another on one control plane.

jest.setTimeout(600_000);

let cluster: TestCluster;
let project: EngineProject;

beforeAll(async () => {
  cluster = await startTestCluster();
  project = await testProject({ kubeconfig: cluster.kubeconfigPath });
});

afterAll(async () => {
  project?.dispose();
  await cluster?.stop();
});

describe.each(["dev", "staging", "prod"])("stack %s on the real engine", (name) => {
  const log = new RunLog();
  let stack: Stack;
  let synth: ChildSynth;
  let up: UpResult;

  beforeAll(async () => {
    stack = await project.stack(name, SKIP_AWAIT);
    synth = await synthInChild(name, project.stackFile(name));
    up = await stack.up(log.capture());
  });

  it("up succeeds and the state holds exactly the resources synth declares", async () => {
    expect(up.summary.result).toBe("succeeded");
    const state = await stack.exportStack();
    const inState = state.deployment.resources
      .filter((r: any) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack")
      .map((r: any) => `${r.type}::${r.urn.split("::").pop()}`)
      .sort();
    const declared = synth.resources
      .filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack")
      .map((r) => `${r.type}::${r.name}`)
      .sort();
    expect(inState).toEqual(declared);
  });

  it("a second preview plans no changes: no perpetual diff from checksums, random values or defaults", async () => {
    const preview = await stack.preview(log.capture());
    expect(plannedChanges(preview.changeSummary)).toEqual({});
  });

  it("the API server holds exactly the objects (kind, namespace, name) that synth renders", async () => {
    const rendered = synth.objects.map((o) => o.object);
    const namespaces = rendered.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
    const live = await listDeclaredKinds(cluster.kubeconfigPath, rendered, namespaces);
    expect(live.map(identity).sort()).toEqual(rendered.map(identity).sort());
  });

  it("no generated password appears in plain text in the state file or in any line the engine printed", async () => {
    const secrets = await generatedSecrets(stack);
    expect(secrets.length).toBeGreaterThan(0);
    const checkpoint = fs.readFileSync(project.checkpointFile(name), "utf8");
    const text = log.text();
    for (const secret of secrets) {
      expect({ where: "state", found: checkpoint.includes(secret) }).toEqual({ where: "state", found: false });
      expect({ where: "engine output", found: text.includes(secret) }).toEqual({ where: "engine output", found: false });
    }
  });

  it("destroy removes every object and the namespaces", async () => {
    const rendered = synth.objects.map((o) => o.object);
    const namespaces = rendered.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
    const result = await stack.destroy(log.capture());
    expect(result.summary.result).toBe("succeeded");
    await waitForNamespacesGone(cluster.kubeconfigPath, namespaces);
    expect(await listDeclaredKinds(cluster.kubeconfigPath, rendered, namespaces)).toEqual([]);
    const state = await stack.exportStack();
    expect(state.deployment.resources ?? []).toEqual([]);
  });
});
