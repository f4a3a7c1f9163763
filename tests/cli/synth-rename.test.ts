// synth --baseline across a code change, as a developer runs it: a checkout of HEAD in which a data-layer
// child (every data system's StatefulSet) is renamed, uncommitted, is compared with HEAD itself.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../tools/synth";
import { withCheckout } from "../../tools/synth/lib/baseline";

/** The shared data-layer builder, where each system's StatefulSet gets its resource name. */
const BUILDER = "components/shared/data-workload.ts";
const DECLARATION = /new k8s\.apps\.v1\.StatefulSet\(args\.name, dataStatefulSet\(args, headlessName\), \{ \.\.\.opts, dependsOn: \[headless\] \}\)/;

/** Renames the StatefulSet resource (its Kubernetes name stays), with or without the alias that keeps it. */
function renameStatefulSets(checkout: string, withAlias: boolean): void {
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
}

/** synth of the dev stack in the checkout (its own tools/synth, so PROJECT_ROOT is the checkout) against HEAD. */
function synthAgainstHead(checkout: string) {
  return spawnSync(
    process.execPath,
    [
      path.join(PROJECT_ROOT, "node_modules/tsx/dist/cli.mjs"),
      "tools/synth/cli.ts",
      "--stack",
      "dev",
      "-q",
      "--out",
      path.join(checkout, "out", "dev"),
      "--baseline",
      "HEAD",
    ],
    { cwd: checkout, encoding: "utf8" },
  );
}

const ZOOKEEPER_URN = "urn:pulumi:dev::classroom::classroom:data:ZooKeeper$kubernetes:apps/v1:StatefulSet::zookeeper";

describe("synth --baseline <ref> renders the ref's own code", () => {
  test("refuses a renamed StatefulSet resource (same Kubernetes object, new URN) with both URNs and the alias to add", async () => {
    await withCheckout("HEAD", PROJECT_ROOT, async (checkout) => {
      renameStatefulSets(checkout, false);
      const run = synthAgainstHead(checkout);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("StatefulSet/classroom-dev-data/zookeeper: urn: its URN changes and no alias covers the old one");
      expect(run.stderr).toContain(`before: ${ZOOKEEPER_URN}\n`);
      expect(run.stderr).toContain(`after:  ${ZOOKEEPER_URN}-statefulset\n`);
      expect(run.stderr).toContain('a rename ships with an alias: add aliases: [{ name: "zookeeper" }]');
      for (const system of ["kafka", "redis", "mysql"]) expect(run.stderr).toContain(`StatefulSet/classroom-dev-data/${system}: urn:`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  }, 240_000);

  test("passes the same rename when it ships with an alias", async () => {
    await withCheckout("HEAD", PROJECT_ROOT, async (checkout) => {
      renameStatefulSets(checkout, true);
      const run = synthAgainstHead(checkout);
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("upgrade safety: no StatefulSet replacement, lost volume claim or replaced stateful resource since HEAD");
      expect(run.stdout).not.toContain("is replaced");
    });
  }, 240_000);

  test("leaves no checkout behind: no registered worktree and no temporary folder of its own", async () => {
    let checkoutDir = "";
    await expect(
      withCheckout("HEAD", PROJECT_ROOT, async (dir) => {
        checkoutDir = dir;
        throw new Error("failed while rendering");
      }),
    ).rejects.toThrow("failed while rendering");
    expect(fs.existsSync(path.dirname(checkoutDir))).toBe(false);
    const worktrees = spawnSync("git", ["-C", PROJECT_ROOT, "worktree", "list", "--porcelain"], { encoding: "utf8" }).stdout;
    expect(worktrees).not.toContain(checkoutDir);
    expect(fs.existsSync(path.join(PROJECT_ROOT, "node_modules", "@pulumi", "pulumi", "package.json"))).toBe(true);
  }, 60_000);
});
