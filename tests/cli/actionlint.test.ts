// The CI workflows are lint-clean under actionlint (installed by tools/provision/50-actionlint.sh).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github/workflows");

/** Where 50-actionlint.sh puts the binary: the same cache path, keyed by the version the script pins. */
function actionlintPath(): string {
  if (process.env.ACTIONLINT) return process.env.ACTIONLINT;
  const script = fs.readFileSync(path.join(ROOT, "tools/provision/50-actionlint.sh"), "utf8");
  const version = /^version="(v[\d.]+)"$/m.exec(script)?.[1];
  if (!version) throw new Error('tools/provision/50-actionlint.sh pins no version="vX.Y.Z"');
  const cache = process.env.CLASSROOM_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "classroom-platform");
  return path.join(cache, "actionlint", version, "bin", "actionlint");
}

test("actionlint finds nothing in .github/workflows", () => {
  const bin = actionlintPath();
  if (!fs.existsSync(bin)) {
    throw new Error(
      `actionlint is not installed at ${bin}; run \`bash tools/provision/50-actionlint.sh\` (or tools/provision/all.sh), or point ACTIONLINT at a binary`,
    );
  }
  const run = spawnSync(bin, ["-format", "{{json .}}"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (run.error) throw run.error;
  const findings = JSON.parse(run.stdout || "[]") as Array<{ filepath: string; line: number; column: number; message: string; kind: string }>;
  const listed = findings.map((f) => `${f.filepath}:${f.line}:${f.column}: ${f.message} [${f.kind}]`).join("\n");
  expect(listed).toBe("");
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  expect(fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml")).length).toBeGreaterThanOrEqual(4);
});
