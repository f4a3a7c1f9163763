// synth --baseline as a user runs it (a spawned process): a claim-size change against a git ref is refused.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { PROJECT_ROOT } from "../../tools/synth";

const bigger = (size: string) => `${parseInt(size, 10) + 1}${size.replace(/^\d+/, "")}`;

describe("synth --baseline <git-ref>", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upgrade-safety-test-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The dev stack file as committed at HEAD with ZooKeeper's claim size grown: a local edit not yet committed. */
  function grownStackFile(): string {
    const committed = spawnSync("git", ["-C", PROJECT_ROOT, "show", "HEAD:./stacks/Pulumi.dev.yaml"], { encoding: "utf8" });
    expect(committed.status).toBe(0);
    const doc = parseDocument(committed.stdout);
    const size = String(doc.getIn(["config", "classroom:zookeeper", "storage", "size"]));
    doc.setIn(["config", "classroom:zookeeper", "storage", "size"], bigger(size));
    const file = path.join(dir, "Pulumi.dev.yaml");
    fs.writeFileSync(file, doc.toString());
    return file;
  }

  const synth = (args: string[]) =>
    spawnSync("npx", ["tsx", "tools/synth/cli.ts", "--stack", "dev", "-q", "-o", path.join(dir, "out"), ...args], { cwd: PROJECT_ROOT, encoding: "utf8" });

  test("refuses with exit 1 and names the StatefulSet and field, unless --allow-data-loss is given", () => {
    const file = grownStackFile();
    const refused = synth(["--stack-file", file, "--baseline", "HEAD"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("StatefulSet/classroom-dev-data/zookeeper: spec.volumeClaimTemplates[name=data].spec.resources.requests.storage");
    expect(refused.stderr).toContain("--allow-data-loss");
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    const accepted = synth(["--stack-file", file, "--baseline", "HEAD", "--allow-data-loss"]);
    expect(accepted.stdout).toContain("accepted with --allow-data-loss");
    expect(accepted.stdout).toContain("StatefulSet/classroom-dev-data/zookeeper");
    expect(accepted.stdout).toMatch(/^synth dev: \d+ objects/m);
  }, 120_000);

  test("rejects a ref that is not a commit with a one-line error", () => {
    const result = synth(["--baseline", "no-such-ref-anywhere"]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(/^synth: --baseline no-such-ref-anywhere is not a commit/);
  }, 60_000);
});
