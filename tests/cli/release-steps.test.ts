import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { PROJECT_ROOT } from "../../tools/synth";
import { checksums as checksumsOf, copyOfStacks, runRelease, Run, TRACE } from "./release-runner";

/**
 * Release steps as a user runs them: a child process on a copy of the stacks directory (--stacks-dir),
 * so the project's own stack files are never touched. No `pulumi` is on PATH, and every command that
 * could write passes --no-deploy or --dry-run (the deploy path is in release-deploy.test.ts).
 */
jest.setTimeout(300_000);
let stacksDir: string;
const file = (stack: string) => path.join(stacksDir, `Pulumi.${stack}.yaml`);
const release = (args: string[], options?: Parameters<typeof runRelease>[1]): Promise<Run> => runRelease([...args, "--stacks-dir", stacksDir], options);
const checksums = () => checksumsOf(stacksDir);

beforeAll(() => {
  stacksDir = copyOfStacks("release-steps-");
});
afterAll(() => fs.rmSync(stacksDir, { recursive: true, force: true }));

const IMAGE = "registry.classroom.internal/room-api:1.9.0";

describe("release CLI: a step shows the synth diff, writes the stack file and prints the deploy command", () => {
  test("--dry-run shows the diff and writes nothing", async () => {
    const before = checksums();
    const run = await release(["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--dry-run"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("synth diff dev: 2 added, 1 changed, 0 removed");
    expect(run.stdout).toContain("  + Deployment/classroom-dev-apps/room-api-canary");
    expect(run.stdout).toContain("      spec.rules[0].backendRefs[name=room-api-stable].weight: 100 -> 90");
    expect(run.stdout).toContain("not written");
    expect(checksums()).toEqual(before);
  }, 60_000);

  test("--no-deploy writes only the canary line and prints the exact pulumi command; status shows the tracks", async () => {
    const original = fs.readFileSync(file("dev"), "utf8");
    const run = await release(["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--no-deploy"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `pulumi up --stack dev --cwd ${PROJECT_ROOT} --config-file ${file("dev")} --policy-pack ${PROJECT_ROOT}/policies --policy-pack-config ${PROJECT_ROOT}/policies/config/dev.json`,
    );
    const written = fs.readFileSync(file("dev"), "utf8");
    const added = written.split("\n").filter((l) => !original.split("\n").includes(l));
    expect(added).toEqual([`      canary: { image: ${IMAGE}, replicas: 1, weight: 10 }`]);
    expect(written.replace(`${added[0]}\n`, "")).toBe(original);

    const status = await release(["dev", "room-api", "status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/stable +registry\.classroom\.internal\/room-api:1\.8\.2 +replicas 1 +weight 90/);
    expect(status.stdout).toMatch(/canary +registry\.classroom\.internal\/room-api:1\.9\.0 +replicas 1 +weight 10/);
    expect(status.stdout).toContain("history  (empty)");
  }, 120_000);
});

describe("release CLI: an edit keeps the file's own form", () => {
  test("a CRLF stack file gets CRLF lines: the canary line added and the one removed by rollback", async () => {
    // From the project's own file: the copy in stacksDir may already hold a canary from the tests above.
    const crlf = fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.dev.yaml"), "utf8").replace(/\n/g, "\r\n");
    expect(crlf).not.toContain("canary:");
    fs.writeFileSync(file("crlf"), crlf);
    const canary = await release(["crlf", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--no-deploy"]);
    expect(canary.stderr).toBe("");
    expect(canary.code).toBe(0);
    const written = fs.readFileSync(file("crlf"), "utf8");
    expect(written).toContain(`      canary: { image: ${IMAGE}, replicas: 1, weight: 10 }\r\n`);
    expect(written.replace(/\r\n/g, "")).not.toContain("\n");

    const rollback = await release(["crlf", "room-api", "rollback", "--no-deploy"]);
    expect(rollback.stderr).toBe("");
    expect(rollback.code).toBe(0);
    const rolledBack = fs.readFileSync(file("crlf"), "utf8");
    expect(rolledBack.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    fs.rmSync(file("crlf"));
  });
});

describe("release CLI: upgrade safety", () => {
  test("refuses a step that would also deploy a claim-size change since the baseline, unless --allow-data-loss", async () => {
    // The baseline is the dev stack as last deployed; the working file has since grown ZooKeeper's claim.
    const baseline = path.join(stacksDir, "deployed-dev.yaml");
    fs.copyFileSync(file("dev"), baseline);
    const doc = parseDocument(fs.readFileSync(file("dev"), "utf8"));
    doc.setIn(["config", "classroom:zookeeper", "storage", "size"], "7Gi");
    fs.writeFileSync(file("dev"), doc.toString());
    const before = checksums();

    const step = [
      "dev",
      "whiteboard-rpc",
      "canary",
      "--image",
      "registry.classroom.internal/whiteboard-rpc:1.13.0",
      "--weight",
      "20",
      "--baseline-file",
      baseline,
      "--no-deploy",
    ];
    const refused = await release(step);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("StatefulSet/classroom-dev-data/zookeeper: spec.volumeClaimTemplates[name=data].spec.resources.requests.storage");
    expect(refused.stderr).toContain("--allow-data-loss");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(checksums()).toEqual(before);

    const accepted = await release([...step, "--allow-data-loss"]);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("upgrade hazards accepted with --allow-data-loss");
    expect(fs.readFileSync(file("dev"), "utf8")).toContain("whiteboard-rpc:1.13.0, replicas: 1, weight: 20 }");
  }, 120_000);
});

describe("release CLI: what a step says and when it writes", () => {
  test("a consumer's canary is described by its replica ratio, the split that actually happens, not by a weight", async () => {
    const run = await release([
      "dev",
      "attendance-consumer",
      "canary",
      "--image",
      "registry.classroom.internal/attendance-consumer:1.6.0",
      "--weight",
      "10",
      "--dry-run",
    ]);
    expect(run.code).toBe(0);
    const summary = run.stdout.split("\n")[0];
    expect(summary).toContain(
      "the canary consumes about 50% of the messages (1 of 2 replicas; consumers split by replica ratio over the Kafka partitions, so the weight 10 does not route messages)",
    );
    expect(summary).not.toMatch(/stable 90/);
  });

  test("a file edited by someone else while the step was being planned is not overwritten: exit 2, one line", async () => {
    const theirs = "# edited by a colleague while the release was planning\n";
    let edited = false;
    const run = await release(["dev", "course-api", "canary", "--image", "registry.classroom.internal/course-api:2.4.0", "--weight", "20", "--no-deploy"], {
      // The summary line comes before the seconds of rendering; that is when the colleague saves.
      onStdout: (_chunk, all) => {
        if (!edited && all.includes("course-api: canary")) {
          edited = true;
          fs.appendFileSync(file("dev"), theirs);
        }
      },
    });
    expect(edited).toBe(true);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      `release: ${file("dev")} was changed by someone else while the release was being planned; nothing written: run the command again on the new content`,
    );
    expect(run.stderr).not.toMatch(TRACE);
    expect(fs.readFileSync(file("dev"), "utf8").endsWith(theirs)).toBe(true);
    expect(fs.readFileSync(file("dev"), "utf8")).not.toContain("course-api:2.4.0");
    expect(fs.readdirSync(stacksDir).filter((f) => f.startsWith("."))).toEqual([]);
  });
});
