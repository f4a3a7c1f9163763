import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { TestCluster, startTestCluster } from "../harness/cluster";
import { EngineProject, POLICY_PACK, POLICY_PACK_EXECUTABLE, RunLog, SKIP_AWAIT, testProject } from "./support/engine";

// The policy pack through the engine itself (`pulumi preview --policy-pack policies --policy-pack-config
// policies/config/<env>.json`), not the in-process evaluator: every project stack passes with its own
// environment's config, and a deliberately bad program fails with the named mandatory rules.

jest.setTimeout(600_000);

const configFor = (environment: string) => path.join(POLICY_PACK, "config", `${environment}.json`);

/** Mandatory policy violations the engine reported, as `rule: message`. */
function mandatory(log: RunLog): string[] {
  return log.events
    .map((e) => e.policyEvent)
    .filter((p): p is NonNullable<typeof p> => !!p && p.enforcementLevel === "mandatory")
    .map((p) => `${p.policyName}: ${p.message.split("\n")[0]}`);
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

describe("policy pack through the engine: every project stack passes with its own config", () => {
  let project: EngineProject;

  beforeAll(async () => {
    project = await testProject({ kubeconfig: cluster.kubeconfigPath });
  });

  afterAll(() => project?.dispose());

  it.each(["dev", "staging", "prod", "local"])("%s", async (name) => {
    const log = new RunLog();
    const stack = await project.stack(name, name === "local" ? { "classroom:renderYamlToDirectory": path.join(project.workDir, "render-local") } : SKIP_AWAIT);
    const preview = await stack.preview({ ...log.capture(), policyPacks: [POLICY_PACK_EXECUTABLE], policyPackConfigs: [configFor(name)] });
    expect(mandatory(log)).toEqual([]);
    // The pack really ran: the engine names it in the summary of the preview.
    expect(preview.stdout).toMatch(/classroom-platform@v?0\.1\.0/);
    expect(preview.changeSummary.create).toBeGreaterThan(0);
  });
});

describe("policy pack through the engine: a deliberately bad program fails", () => {
  let project: EngineProject;

  beforeAll(async () => {
    const program = async () => {
      const ns = new k8s.core.v1.Namespace("bad", { metadata: { name: "classroom-bad" } });
      new k8s.apps.v1.Deployment(
        "bad",
        {
          metadata: { name: "bad", namespace: "classroom-bad", labels: { app: "bad" } },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "bad" } },
            template: {
              metadata: { labels: { app: "bad" } },
              spec: {
                containers: [
                  { name: "app", image: "nginx:latest", securityContext: { privileged: true }, volumeMounts: [{ name: "etc", mountPath: "/host-etc" }] },
                ],
                volumes: [{ name: "etc", hostPath: { path: "/etc" } }],
              },
            },
          },
        },
        { dependsOn: [ns] },
      );
    };
    project = await testProject({ kubeconfig: cluster.kubeconfigPath, program });
  });

  afterAll(() => project?.dispose());

  it("preview with the prod config fails and names no-privileged-containers, hostpath-log-root-only and image-tag-pinned", async () => {
    const log = new RunLog();
    const stack = await project.stack("bad");
    await expect(stack.preview({ ...log.capture(), policyPacks: [POLICY_PACK_EXECUTABLE], policyPackConfigs: [configFor("prod")] })).rejects.toThrow();
    const rules = new Set(mandatory(log).map((v) => v.split(":")[0]));
    for (const rule of ["no-privileged-containers", "hostpath-log-root-only", "image-tag-pinned"]) expect(rules).toContain(rule);
  });
});
