// `npm run policy:check`: any Kubernetes manifests, judged by the pack at a stack's enforcement level.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { objectsOf, platformStack } from "../policies/fixtures";

const ROOT = path.resolve(__dirname, "../..");
let dir: string;

function check(...args: string[]) {
  const run = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), ["policies/check.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

function write(name: string, docs: object[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, docs.map((d) => stringify(d)).join("---\n"));
  return file;
}

beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-check-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("compliant manifests pass in prod (exit 0)", () => {
  const r = check("--stack", "prod", write("good.yaml", objectsOf(platformStack())));
  expect(r.err).toBe("");
  expect(r.out).toMatch(/policy:check prod: \d+ objects, 0 mandatory and 0 advisory violations/);
  expect(r.code).toBe(0);
});

test("a hostPath outside the log root fails with the rule and object named (exit 1), even in dev", () => {
  const s = platformStack();
  s.stable.spec.template.spec.volumes[0].hostPath.path = "/var/run";
  const r = check("--stack", "dev", write("bad.yaml", objectsOf(s)));
  expect(r.out).toContain("[mandatory] hostpath-log-root-only  Deployment classroom-prod-apps/room-api-stable: volume 'logs' mounts host path /var/run");
  expect(r.code).toBe(1);
});

test("bad input is named, without a stack trace (exit 2)", () => {
  const missing = check("--stack", "prod", path.join(dir, "missing.yaml"));
  expect(missing.err).toMatch(/^policy:check: cannot read .*missing.yaml: ENOENT/);
  expect(missing.code).toBe(2);
  const notK8s = path.join(dir, "not-k8s.yaml");
  fs.writeFileSync(notK8s, "name: just data\n");
  expect(check("--stack", "prod", notK8s)).toMatchObject({
    code: 2,
    err: expect.stringMatching(/document 1 is not a Kubernetes object \(needs apiVersion and kind\)/),
  });
  const stack = check("--stack", "qa", notK8s);
  expect(stack.err).toMatch(/no policy config for stack "qa"; stacks with one: dev, local, prod, staging/);
  expect(stack.err).not.toMatch(/\n\s+at /);
  expect(stack.code).toBe(2);
});
