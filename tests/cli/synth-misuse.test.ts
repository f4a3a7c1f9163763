// Misuse of the CLIs this project ships besides release (synth, policy:check, cluster, engine), as a new
// user commits it: each case runs the real CLI as a spawned process and must give the exit code of the
// contract in tools/cli/run.ts, one line naming the argument or key (one per problem when there are
// several), no stack trace, and leave the stack files, the policy configs and whatever it pointed at
// byte for byte as they were.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const CLIS = {
  synth: "tools/synth/cli.ts",
  "policy:check": "policies/check.ts",
  cluster: "tools/cluster/cli.ts",
  engine: "tools/engine/cli.ts",
  "scheduler:status": "runtime/scheduler/status-cli.ts",
  "release:runtime-image": "tools/release/runtime-image-cli.ts",
} as const;
const DEV = fs.readFileSync(path.join(ROOT, "stacks/Pulumi.dev.yaml"), "utf8");

let tmp: string;
/** A file in this suite's temp folder, created with `content`. */
function file(name: string, content: string): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}
/** The dev stack file with a text replaced (each replacement must apply, or the case tests nothing). */
function devWith(name: string, ...edits: Array<[string | RegExp, string]>): string {
  let text = DEV;
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`case ${name}: ${String(from)} is not in stacks/Pulumi.dev.yaml`);
    text = next;
  }
  return file(`${name}.yaml`, text);
}

interface Case {
  name: string;
  /** Which CLI and its arguments; a function runs after the temp folder exists. */
  cli: keyof typeof CLIS;
  args: () => string[];
  code: 1 | 2;
  /** What the error must say (naming the argument or key). */
  says: RegExp[];
  /** What stdout must say (findings are reported there). */
  prints?: RegExp;
  /** Lines on stderr: 1, or one per problem plus a header. */
  lines?: number;
  /** Files or folders the case pointed at, which must be unchanged afterwards. */
  untouched?: () => string[];
  env?: Record<string, string | undefined>;
}

const LONG_NAME = `s${"x".repeat(56)}`;

const cases: Case[] = [
  // --out: synth owns only a folder it marked, and never the checkout, stacks/ or their parents.
  { name: "--out stacks", cli: "synth", args: () => ["--out", "stacks"], code: 2, says: [/^synth: --out stacks: refusing to write into \S*stacks;/] },
  { name: "--out . (the checkout)", cli: "synth", args: () => ["--out", "."], code: 2, says: [/^synth: --out \.: refusing to write into /] },
  {
    name: "--out .. (a parent of the checkout)",
    cli: "synth",
    args: () => ["--out", ".."],
    code: 2,
    says: [/--out \.\.: refusing to write into .*, a parent of /],
  },
  { name: "--out /", cli: "synth", args: () => ["--out", "/"], code: 2, says: [/--out \/: refusing to write into \/, a parent of /] },
  {
    name: "--out a symlink to stacks/",
    cli: "synth",
    args: () => {
      const l = path.join(tmp, "to-stacks");
      fs.symlinkSync(path.join(ROOT, "stacks"), l);
      return ["--out", l];
    },
    code: 2,
    says: [/--out \S*to-stacks: refusing to write into \S*stacks;/],
  },
  {
    name: "--out a symlink to the checkout",
    cli: "synth",
    args: () => {
      const l = path.join(tmp, "to-root");
      fs.symlinkSync(ROOT, l);
      return ["--out", l];
    },
    code: 2,
    says: [/--out \S*to-root: refusing to write into /],
  },
  {
    name: "--out a folder inside stacks/",
    cli: "synth",
    args: () => ["--out", "stacks/rendered"],
    code: 2,
    says: [/--out stacks\/rendered: refusing to write inside \S*stacks/],
  },
  {
    name: "--out a file",
    cli: "synth",
    args: () => ["--out", "package.json"],
    code: 2,
    says: [/--out package\.json: is a file, not a folder/],
    untouched: () => [path.join(ROOT, "package.json")],
  },
  {
    name: "--out a folder below a file",
    cli: "synth",
    args: () => ["--out", "package.json/rendered"],
    code: 2,
    says: [/--out package\.json\/rendered: \S*package\.json is a file, so no folder can be made below it/],
    untouched: () => [path.join(ROOT, "package.json")],
  },
  {
    name: "--out a non-empty folder synth did not write",
    cli: "synth",
    args: () => ["--out", "infra"],
    code: 2,
    says: [/--out infra: the folder is not empty and was not written by synth \(no \.classroom-synth file in it\)/],
    untouched: () => [path.join(ROOT, "infra")],
  },
  {
    name: "--out a folder whose marker is not synth's",
    cli: "synth",
    args: () => {
      file("bad-marker/.classroom-synth", "rm -rf /\n");
      file("bad-marker/keep.txt", "mine");
      return ["--out", path.join(tmp, "bad-marker")];
    },
    code: 2,
    says: [/\.classroom-synth is not synth's marker \(not JSON\)/],
    untouched: () => [path.join(tmp, "bad-marker")],
  },
  {
    name: "--out a marker that lists files outside its folder",
    cli: "synth",
    args: () => {
      file("escape/.classroom-synth", JSON.stringify({ tool: "classroom-platform synth", files: ["../../stacks/Pulumi.dev.yaml"] }));
      return ["--out", path.join(tmp, "escape")];
    },
    code: 2,
    says: [/\.classroom-synth is not synth's marker \(unexpected content\)/],
    untouched: () => [path.join(tmp, "escape")],
  },
  {
    name: "--out whose subfolder is a symlink to elsewhere",
    cli: "synth",
    args: () => {
      // A folder synth owns, one of whose subfolders someone swapped for a link to a folder of theirs.
      file("linked-out/.classroom-synth", `${JSON.stringify({ tool: "classroom-platform synth", files: [] })}\n`);
      file("elsewhere/classroom-dev-apps/deployment-room-api-stable.yaml", "mine\n");
      fs.symlinkSync(path.join(tmp, "elsewhere/classroom-dev-apps"), path.join(tmp, "linked-out/classroom-dev-apps"));
      return ["-q", "--out", path.join(tmp, "linked-out")];
    },
    code: 2,
    says: [/^synth: --out \S*linked-out: classroom-dev-apps is a symlink \(to \S*elsewhere\/classroom-dev-apps\); synth writes only inside its own folder/],
    untouched: () => [path.join(tmp, "elsewhere"), path.join(tmp, "linked-out")],
  },
  // Which stack, which file.
  {
    name: "--stack-file of prod with --stack dev",
    cli: "synth",
    args: () => ["--stack", "dev", "--stack-file", path.join(ROOT, "stacks/Pulumi.prod.yaml")],
    code: 2,
    says: [/^synth: --stack-file \S*stacks\/Pulumi\.prod\.yaml is the file of stack 'prod', not of 'dev'/],
  },
  {
    name: "--stack-file of prod without --stack is judged as prod (a mandatory violation there)",
    cli: "synth",
    args: () => {
      const prod = fs.readFileSync(path.join(ROOT, "stacks/Pulumi.prod.yaml"), "utf8");
      const one = prod.replace("attendance-consumer:1.5.1, replicas: 3 }", "attendance-consumer:1.5.1, replicas: 1 }");
      if (one === prod) throw new Error("attendance-consumer's stable line is not in stacks/Pulumi.prod.yaml");
      return ["-q", "--stack-file", file("prod-file/Pulumi.prod.yaml", one), "--out", path.join(tmp, "prod-out")];
    },
    code: 1,
    says: [],
    prints: /\[mandatory\] ha-replicas .*attendance-consumer[\s\S]*^synth prod: .* FAILED$/m,
  },
  {
    name: "--stack-file that is a FIFO",
    cli: "synth",
    args: () => {
      execFileSync("mkfifo", [path.join(tmp, "Pulumi.fifo.yaml")]);
      return ["--stack-file", path.join(tmp, "Pulumi.fifo.yaml")];
    },
    code: 2,
    says: [/^synth: --stack-file \S*Pulumi\.fifo\.yaml: is a FIFO, not a regular file$/m],
  },
  {
    name: "--stack-file that is a dangling symlink",
    cli: "synth",
    args: () => {
      fs.symlinkSync(path.join(tmp, "gone.yaml"), path.join(tmp, "dangling.yaml"));
      return ["--stack-file", path.join(tmp, "dangling.yaml")];
    },
    code: 2,
    says: [/^synth: --stack-file \S*dangling\.yaml: is a dangling symlink \(to \S*gone\.yaml, which does not exist\)$/m],
  },
  {
    name: "--stack that has no file",
    cli: "synth",
    args: () => ["--stack", "qa"],
    code: 2,
    says: [/^synth: --stack qa: no stack file stacks\/Pulumi\.qa\.yaml \(stacks: dev, local, prod, staging\)$/m],
  },
  {
    name: "--stack that is a path",
    cli: "synth",
    args: () => ["--stack", "../stacks/Pulumi.dev"],
    code: 2,
    says: [/--stack "\.\.\/stacks\/Pulumi\.dev" is not a stack name/],
  },
  { name: "--stack without a value", cli: "synth", args: () => ["--stack"], code: 2, says: [/option '-s, --stack <name>' argument missing/] },
  {
    name: "--stack-file that does not exist",
    cli: "synth",
    args: () => ["--stack-file", path.join(tmp, "nope.yaml")],
    code: 2,
    says: [/--stack-file \S*nope\.yaml: no such file/],
  },
  { name: "--stack-file that is a folder", cli: "synth", args: () => ["--stack-file", "stacks"], code: 2, says: [/--stack-file stacks: is not a file/] },
  // The stack file's shape: each its own message, naming the file given.
  {
    name: "an empty stack file",
    cli: "synth",
    args: () => ["--stack-file", file("empty.yaml", "")],
    code: 2,
    says: [/empty\.yaml is empty; a stack file needs a `config:` section/],
  },
  {
    name: "configs: instead of config:",
    cli: "synth",
    args: () => ["--stack-file", file("configs.yaml", DEV.replace(/^config:/m, "configs:"))],
    code: 2,
    says: [/configs\.yaml: unknown top-level key 'configs' \(did you mean 'config'\?\)/],
  },
  {
    name: "a stack file whose root is a list",
    cli: "synth",
    args: () => ["--stack-file", file("list.yaml", "- classroom:environment: dev\n")],
    code: 2,
    says: [/list\.yaml: the top level must be a mapping with a `config:` section, got a list/],
  },
  {
    name: "config: that is not a mapping",
    cli: "synth",
    args: () => ["--stack-file", file("scalar.yaml", "config: dev\n")],
    code: 2,
    says: [/scalar\.yaml: `config:` must be a mapping of keys such as classroom:environment, got the text "dev"/],
  },
  {
    name: "a YAML syntax error",
    cli: "synth",
    args: () => ["--stack-file", file("syntax.yaml", "config:\n  classroom:environment: [dev\n")],
    code: 2,
    says: [/syntax\.yaml is not valid YAML: /],
  },
  {
    name: "a duplicate key (merge leftover)",
    cli: "synth",
    args: () => ["--stack-file", devWith("duplicate", ["classroom:environment: dev", "classroom:environment: dev\n  classroom:environment: prod"])],
    code: 2,
    says: [/duplicate\.yaml is not valid YAML: Map keys must be unique/],
  },
  {
    name: "merge-conflict markers",
    cli: "synth",
    args: () => [
      "--stack-file",
      devWith("conflict", [
        "  classroom:logRoot:",
        "<<<<<<< HEAD\n  classroom:logRoot: /a\n=======\n  classroom:logRoot: /b\n>>>>>>> main\n  classroom:logRoot:",
      ]),
    ],
    code: 2,
    says: [/conflict\.yaml is not valid YAML/],
  },
  // Keys under config:.
  {
    name: "clasroom:services (namespace typo)",
    cli: "synth",
    args: () => ["--stack-file", devWith("ns-services", ["classroom:services:", "clasroom:services:"])],
    code: 2,
    says: [
      /ns-services\.yaml: clasroom:services is in namespace 'clasroom', which nothing reads \(known: classroom, kubernetes, pulumi, random\); did you mean classroom:services\?$/m,
    ],
  },
  {
    name: "classrom:logRoot (namespace typo)",
    cli: "synth",
    args: () => ["--stack-file", devWith("ns-logroot", ["classroom:logRoot:", "classrom:logRoot:"])],
    code: 2,
    says: [/classrom:logRoot is in namespace 'classrom'.*did you mean classroom:logRoot\?/],
  },
  {
    name: "a namespace nothing reads",
    cli: "synth",
    args: () => ["--stack-file", devWith("ns-other", ["config:\n", "config:\n  monitoring:enabled: true\n"])],
    code: 2,
    says: [/monitoring:enabled is in namespace 'monitoring', which nothing reads \(known: classroom, kubernetes, pulumi, random\)$/m],
  },
  {
    name: "a misspelled classroom key",
    cli: "synth",
    args: () => ["--stack-file", devWith("servces", ["classroom:services:", "classroom:servces:"])],
    code: 2,
    says: [/classroom:servces is not a known key; did you mean services\?/],
  },
  {
    name: "services as a list",
    cli: "synth",
    args: () => ["--stack-file", file("svc-list.yaml", "config:\n  classroom:environment: dev\n  classroom:services: [room-api]\n")],
    code: 2,
    says: [/classroom:services must be a mapping of names to values, got \["room-api"\]/],
  },
  {
    name: "a service name too long for its derived names",
    cli: "synth",
    args: () => ["--stack-file", devWith("long-name", ["    course-api:", `    ${LONG_NAME}:`], ["service: course-api,", `service: ${LONG_NAME},`])],
    code: 2,
    says: [new RegExp(`classroom:services\\.${LONG_NAME} is not a valid name: must be at most 56 characters, got 57: the components derive <name>-stable`)],
  },
  {
    name: "requests above limits (dev too)",
    cli: "synth",
    args: () => [
      "--stack-file",
      devWith("requests", [
        "requests: { cpu: 100m, memory: 512Mi }, limits: { memory: 768Mi }",
        "requests: { cpu: 100m, memory: 4Gi }, limits: { memory: 768Mi }",
      ]),
    ],
    code: 2,
    says: [
      /classroom:mysql\.resources\.requests\.memory must be <= limits\.memory \(768Mi\); Kubernetes rejects a pod that requests more than its limit, got 4Gi/,
    ],
  },
  {
    name: "canary and legacy VMs under nginx-ingress",
    cli: "synth",
    args: () => [
      "--stack-file",
      devWith(
        "nginx",
        [/ {2}classroom:routing:\n {4}gateway: .*\n/, "  classroom:routing: { mode: nginx-ingress }\n"],
        [
          "      calls: [session-rpc, user-system]\n",
          '      calls: [session-rpc, user-system]\n      canary: { image: registry.classroom.internal/room-api:1.9.0, replicas: 1, weight: 10 }\n      legacy: { endpoints: ["10.20.0.11:8080"], weight: 10 }\n',
        ],
      ),
    ],
    code: 2,
    says: [/classroom:services\.room-api\.legacy cannot be combined with a canary when routing\.mode is nginx-ingress/],
  },
  {
    name: "a call to an external the stack does not declare",
    cli: "synth",
    args: () => ["--stack-file", devWith("external", ["      calls: [course-system]\n", "      calls: [course-sytem]\n"])],
    code: 2,
    says: [
      /external\.yaml: classroom:services\.course-api\.calls names 'course-sytem', which is neither a declared service nor a declared external \(services: .*; externals: course-system, user-system\); did you mean course-system\?$/m,
    ],
  },
  {
    name: "an external with both a host and addresses",
    cli: "synth",
    args: () => [
      "--stack-file",
      devWith("external-both", ["      host: courses.dev.classroom.internal\n", "      host: courses.dev.classroom.internal\n      addresses: [10.0.0.1]\n"]),
    ],
    code: 2,
    says: [/classroom:externals\.course-system must set exactly one of host \(a DNS name\) or addresses \(IPv4 addresses\)$/m],
  },
  {
    name: "an environment that does not exist",
    cli: "synth",
    args: () => ["--stack-file", devWith("env", ["classroom:environment: dev", "classroom:environment: qa"])],
    code: 2,
    says: [/classroom:environment must be one of dev, staging, prod, local, got "qa"/],
  },
  {
    name: "three independent mistakes, three lines",
    cli: "synth",
    args: () => [
      "--stack-file",
      devWith(
        "three",
        ["classroom:logRoot:", "classrom:logRoot:"],
        ["classroom:zookeeper:\n    replicas: 1", "classroom:zookeeper:\n    replicas: 2"],
        ["mode: standalone", "mode: cluster"],
      ),
    ],
    code: 2,
    lines: 4,
    says: [
      /^synth: 3 problems:$/m,
      /classrom:logRoot is in namespace/,
      /classroom:zookeeper\.replicas must be an odd number >= 1, got 2/,
      /classroom:redis\.mode must be one of standalone, sentinel, got "cluster"/,
    ],
  },
  {
    name: "bad arguments and a bad stack file together",
    cli: "synth",
    args: () => [
      "--stack-file",
      devWith("with-args", ["classroom:environment: dev", "classroom:environment: qa"]),
      "--out",
      "stacks",
      "--policy-config",
      "nope.json",
    ],
    code: 2,
    lines: 4,
    says: [/^synth: 3 problems:$/m, /classroom:environment must be one of/, /--policy-config: no file nope\.json/, /--out stacks: refusing/],
  },
  // Options.
  {
    name: "--policy-config file that does not exist",
    cli: "synth",
    args: () => ["--policy-config", "nope.json"],
    code: 2,
    says: [/^synth: --policy-config: no file nope\.json$/m],
  },
  {
    name: "--policy-config that is not JSON",
    cli: "synth",
    args: () => ["--policy-config", file("bad.json", "{ all: mandatory")],
    code: 2,
    says: [/--policy-config: \S*bad\.json is not valid JSON/],
  },
  {
    name: "--policy-config naming an unknown policy",
    cli: "synth",
    args: () => ["--policy-config", file("unknown.json", JSON.stringify({ "no-such-rule": "mandatory" }))],
    code: 2,
    says: [/unknown\.json: unknown policy "no-such-rule"; the pack has: /],
  },
  {
    name: "--policy-config stack that has none",
    cli: "synth",
    args: () => ["--policy-config", "qa"],
    code: 2,
    says: [/no policy config for stack "qa"; stacks with one: dev, local, prod, staging/],
  },
  {
    name: "--allow-data-loss without --baseline",
    cli: "synth",
    args: () => ["--allow-data-loss"],
    code: 2,
    says: [/^synth: --allow-data-loss only applies with --baseline <git-ref>$/m],
  },
  {
    name: "--baseline that is not a commit",
    cli: "synth",
    args: () => ["--baseline", "no-such-ref"],
    code: 2,
    says: [/--baseline no-such-ref is not a commit in /],
  },
  { name: "an empty --policy-config", cli: "synth", args: () => ["--policy-config", ""], code: 2, says: [/^synth: --policy-config must not be empty/] },
  { name: "an empty --baseline", cli: "synth", args: () => ["--baseline", ""], code: 2, says: [/^synth: --baseline must not be empty/] },
  { name: "--server without KUBECONFIG", cli: "synth", args: () => ["--server"], code: 2, says: [/--server needs KUBECONFIG/], env: { KUBECONFIG: undefined } },
  { name: "an unknown option", cli: "synth", args: () => ["--outdir", "x"], code: 2, says: [/unknown option '--outdir'/] },
  // policy:check
  { name: "policy:check without --stack", cli: "policy:check", args: () => ["x.yaml"], code: 2, says: [/required option '-s, --stack <name>' not specified/] },
  {
    name: "policy:check --stack with no config",
    cli: "policy:check",
    args: () => ["--stack", "qa", file("ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: b }\n")],
    code: 2,
    says: [/no policy config for stack "qa"; stacks with one: dev, local, prod, staging/],
  },
  {
    name: "policy:check on a missing file",
    cli: "policy:check",
    args: () => ["--stack", "dev", "missing.yaml"],
    code: 2,
    says: [/^policy:check: cannot read missing\.yaml: ENOENT$/m],
  },
  {
    name: "policy:check on a folder",
    cli: "policy:check",
    args: () => ["--stack", "dev", "stacks"],
    code: 2,
    says: [/^policy:check: stacks is a folder; give the YAML files in it$/m],
  },
  {
    name: "policy:check on a stack file (not manifests)",
    cli: "policy:check",
    args: () => ["--stack", "dev", "stacks/Pulumi.dev.yaml"],
    code: 2,
    says: [/stacks\/Pulumi\.dev\.yaml: document 1 is not a Kubernetes object \(needs apiVersion and kind\)/],
  },
  {
    name: "policy:check on invalid YAML",
    cli: "policy:check",
    args: () => ["--stack", "dev", file("broken.yaml", "kind: [Pod\n")],
    code: 2,
    says: [/broken\.yaml: document 1 is not valid YAML/],
  },
  {
    name: "policy:check with two bad inputs, two lines",
    cli: "policy:check",
    args: () => ["--stack", "qa", "missing.yaml"],
    code: 2,
    lines: 3,
    says: [/^policy:check: 2 problems:$/m, /no policy config for stack "qa"/, /cannot read missing\.yaml: ENOENT/],
  },
  {
    name: "policy:check on a YAML alias bomb",
    cli: "policy:check",
    args: () => {
      const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
      for (const [prev, next] of [..."abcdef"].slice(0, 5).map((c, i) => [c, "bcdef"[i]]))
        levels.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(", ")}]`);
      return ["--stack", "dev", file("bomb.yaml", `${levels.join("\n")}\n`)];
    },
    code: 2,
    says: [/^policy:check: \S*bomb\.yaml: document 1 cannot be read: Excessive alias count/m],
  },
  {
    name: "policy:check --stack with a path in it",
    cli: "policy:check",
    args: () => ["--stack", "../config/dev", "stacks/Pulumi.dev.yaml"],
    code: 2,
    lines: 3,
    says: [/^policy:check: 2 problems:$/m, /^ {2}--stack: "\.\.\/config\/dev" is not a stack name/m],
  },
  // scheduler:status and release:runtime-image
  {
    name: "scheduler:status with both Redis variables and no jobs file: both problems",
    cli: "scheduler:status",
    args: () => [],
    env: { CLASSROOM_SCHEDULER_JOBS_FILE: undefined, CLASSROOM_REDIS_URL: "redis://127.0.0.1:1", CLASSROOM_REDIS_SENTINELS: "127.0.0.1:2" },
    code: 2,
    lines: 3,
    says: [/^scheduler:status: 2 problems:$/m, /--jobs-file: required/, /CLASSROOM_REDIS_URL or CLASSROOM_REDIS_SENTINELS, not both/],
  },
  {
    name: "scheduler:status with a misspelled option",
    cli: "scheduler:status",
    args: () => ["--jsn"],
    code: 2,
    says: [/unknown option '--jsn' \(did you mean --json\?\)$/m],
  },
  {
    name: "release:runtime-image without the image",
    cli: "release:runtime-image",
    args: () => ["dev"],
    code: 2,
    says: [/^error: missing required argument 'image'$/m],
  },
  // cluster and engine
  { name: "cluster with an unknown command", cli: "cluster", args: () => ["start"], code: 2, says: [/unknown command 'start'/] },
  {
    name: "cluster up --port out of range",
    cli: "cluster",
    args: () => ["up", "--port", "70000"],
    code: 2,
    says: [/option '--port <port>' argument '70000' is invalid\. must be an integer from 1 to 65535/],
  },
  { name: "cluster status --bogus", cli: "cluster", args: () => ["status", "--bogus"], code: 2, says: [/unknown option '--bogus'/] },
  { name: "engine with an unknown command", cli: "engine", args: () => ["start"], code: 2, says: [/unknown command 'start'/] },
  { name: "engine env --bogus", cli: "engine", args: () => ["env", "--bogus"], code: 2, says: [/unknown option '--bogus'/] },
];

/** sha256 of every file under `p` (or of `p`), by relative path; symlinks by their target. */
function fingerprint(p: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (full: string, rel: string) => {
    const st = fs.lstatSync(full, { throwIfNoEntry: false });
    if (!st) out[rel] = "absent";
    else if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(full)}`;
    else if (st.isDirectory()) for (const e of fs.readdirSync(full).sort()) walk(path.join(full, e), path.join(rel, e));
    else out[rel] = `${st.mode.toString(8)} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`;
  };
  walk(p, ".");
  return out;
}

const GUARDED = [path.join(ROOT, "stacks"), path.join(ROOT, "policies/config")];

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
  before: Record<string, Record<string, string>>;
  after: Record<string, Record<string, string>>;
  markers: string[];
}

function runCase(c: Case): Promise<Run> {
  const args = c.args();
  const watched = [...GUARDED, ...(c.untouched?.() ?? [])];
  const before = Object.fromEntries(watched.map((p) => [p, fingerprint(p)]));
  const env: NodeJS.ProcessEnv = { ...process.env, CLASSROOM_DEBUG: undefined, XDG_RUNTIME_DIR: tmp, ...c.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, CLIS[c.cli], ...args], { cwd: ROOT, env, timeout: 120_000, encoding: "utf8" }, (err, stdout, stderr) => {
      const after = Object.fromEntries(watched.map((p) => [p, fingerprint(p)]));
      // A refused --out must not even get synth's marker.
      const markers = [ROOT, path.join(ROOT, "stacks"), path.dirname(ROOT), "/"].filter((d) => fs.existsSync(path.join(d, ".classroom-synth")));
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr, before, after, markers });
    });
  });
}

const runs = new Map<string, Run>();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "synth-misuse-"));
  // A small pool: each case is one tsx process; more than a few at once only thrash a 2-core machine.
  const queue = [...cases];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) runs.set(c.name, await runCase(c));
  };
  await Promise.all(Array.from({ length: Math.min(4, Math.max(2, os.cpus().length)) }, worker));
}, 600_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("the table holds at least 35 cases of misuse, each named once", () => {
  expect(cases.length).toBeGreaterThanOrEqual(35);
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

describe.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
  test(`exits ${c.code} with ${c.lines ?? 1} line(s) naming it, no stack trace`, () => {
    const run = runs.get(c.name)!;
    const lines = run.stderr.trimEnd().split("\n");
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: c.code, stderr: expect.any(String) });
    for (const pattern of c.says) expect(run.stderr).toMatch(pattern);
    if (c.prints) expect(run.stdout).toMatch(c.prints);
    expect(lines).toHaveLength(c.lines ?? 1);
    expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(run.stderr).not.toMatch(/internal error|ZodError|must be record|Invalid key in record/);
  });

  test("changes nothing: stack files, policy configs and what it pointed at are byte-identical", () => {
    const run = runs.get(c.name)!;
    expect(run.after).toEqual(run.before);
    expect(run.markers).toEqual([]);
  });
});

test("--version prints the project's version on every CLI, exit 0", async () => {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
  for (const cli of Object.keys(CLIS) as Array<keyof typeof CLIS>) {
    const run = await runCase({ name: `${cli} --version`, cli, args: () => ["--version"], code: 2, says: [] });
    expect({ cli, code: run.code, stdout: run.stdout }).toEqual({ cli, code: 0, stdout: `${version}\n` });
  }
}, 120_000);

test("--debug adds the trace that is otherwise left out", async () => {
  const run = await runCase({ name: "debug", cli: "synth", args: () => ["--stack", "qa", "--debug"], code: 2, says: [] });
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/^synth: --stack qa: no stack file/);
  expect(run.stderr).toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}, 120_000);
