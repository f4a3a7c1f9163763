import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTestCluster, TestCluster } from "../harness/cluster";

// Offline schema validation cannot see unknown fields, port ranges, CRD schemas, CEL rules or admission;
// only the API server applies them. Every project stack must pass its strict server-side dry run.
jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, "../..");
const STACKS = fs
  .readdirSync(path.join(ROOT, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s)
  .sort();

describe("strict server-side validation of every stack (synth --server)", () => {
  let cluster: TestCluster;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-server-"));

  beforeAll(async () => {
    cluster = await startTestCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it.each(STACKS)("%s: the API server rejects no object", (stack) => {
    const run = spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), "tools/synth/cli.ts", "--stack", stack, "--server", "-q", "--out", path.join(out, stack)],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
      },
    );
    expect(run.stderr).not.toMatch(/^server: /m);
    expect(run.stdout).toMatch(/server validation: \d+ objects, 0 rejected/);
    expect(run.status).toBe(0);
  });
});
