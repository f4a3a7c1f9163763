import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../tools/synth";
import { checksums, copyOfStacks, errorLines, pulumiStandIn, runAll, runRelease, Run, TRACE } from "./release-runner";

/**
 * Misuse of the release CLI, by class: arguments, stack and file selection, broken stack files (under
 * every action, status included), steps that do not apply, problems already in the file, the deploy's
 * confirmation rule. Each case runs the real CLI and must exit with the contract's code (2 for a bad
 * request or file), print exactly the expected lines naming the argument, key or file, no stack trace,
 * and leave every file byte for byte as it was.
 */
let stacksDir: string;
let standIn: ReturnType<typeof pulumiStandIn>;
const IMAGE = "registry.classroom.internal/room-api:1.9.0";

/** Stack files broken on purpose, derived from the dev stack's text. */
function writeBrokenStacks(dir: string): void {
  const dev = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
  const roomStable = "      stable: { image: registry.classroom.internal/room-api:1.8.2, replicas: 1 }\n";
  const write = (stack: string, text: string) => fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  write("dupkey", dev.replace(roomStable, `${roomStable}${roomStable.replace("1.8.2", "1.8.3")}`));
  write("conflict", dev.replace(roomStable, `<<<<<<< HEAD\n${roomStable}=======\n${roomStable.replace("1.8.2", "1.8.3")}>>>>>>> release\n`));
  write("syntax", dev.replace("uses: [redis, mysql, kafka]", "uses: [redis, mysql, kafka"));
  write("empty", "");
  write("noconfig", dev.replace(/^config:/m, "configs:"));
  write("listroot", "- config\n- services\n");
  write("noservices", dev.replace(/^ {2}classroom:services:\n(?: {4}.*\n)+/m, ""));
  write("svcscalar", dev.replace(/^ {4}room-api:\n(?: {6}.*\n)+/m, "    room-api: registry.classroom.internal/room-api:1.8.2\n"));
  // A problem that is in the file before any release step: ZooKeeper needs an odd quorum.
  write("evenzk", dev.replace("  classroom:zookeeper:\n    replicas: 1", "  classroom:zookeeper:\n    replicas: 2"));
  write("rolledback", dev.replace(roomStable, `${roomStable}      canary: { image: ${IMAGE}, replicas: 0, weight: 0 }\n`));
  write("nopods", dev.replace("course-api:2.3.0, replicas: 1", "course-api:2.3.0, replicas: 0"));
  write("nostable", dev.replace("      stable: { image: registry.classroom.internal/whiteboard-rpc:1.12.0, replicas: 1 }\n", ""));
  write("nsmisspelt", dev.replace("  classroom:services:\n", "  clasroom:services:\n"));
  // Not regular files: reading a FIFO blocks forever, and a dangling symlink is not a missing stack.
  execFileSync("mkfifo", [path.join(dir, "Pulumi.x-fifo.yaml")]);
  fs.symlinkSync(path.join(dir, "gone.yaml"), path.join(dir, "Pulumi.x-dangling.yaml"));
}

interface Case {
  name: string;
  args: string[];
  /** The error, naming the argument, key or file. */
  error: RegExp;
  /** Lines on stderr: 1, or a heading plus one line per problem. Default 1. */
  lines?: number;
  /** What the message must not say (blaming the wrong thing). */
  not?: RegExp;
  /** Put a pulumi stand-in on PATH. */
  pulumi?: boolean;
  /** Add `--stacks-dir <copy>`. Default true. */
  stacksDir?: boolean;
}

const cases: Case[] = [
  // Arguments
  { name: "missing action", args: ["dev", "room-api"], error: /missing required argument 'action'/ },
  {
    name: "unknown action",
    args: ["dev", "room-api", "frobnicate"],
    error: /action 'frobnicate' is unknown \(actions: canary, weight, promote, rollback, status, run, abort\)/,
  },
  { name: "misspelled option", args: ["dev", "room-api", "weight", "20", "--wieght", "20"], error: /unknown option '--wieght'/ },
  { name: "weight above 100", args: ["dev", "room-api", "weight", "150"], error: /^release: weight must be a whole number between 0 and 100, got '150'$/ },
  { name: "weight not a number", args: ["dev", "room-api", "weight", "ten"], error: /weight must be a whole number between 0 and 100, got 'ten'/ },
  { name: "weight with a fraction", args: ["dev", "room-api", "weight", "12.5"], error: /weight must be a whole number between 0 and 100, got '12.5'/ },
  { name: "negative weight", args: ["dev", "room-api", "weight", "-5"], error: /weight must be a whole number between 0 and 100, got '-5'/ },
  { name: "weight without a value", args: ["dev", "room-api", "weight"], error: /weight needs the new weight: `weight <n>`/ },
  {
    name: "canary --weight 101",
    args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "101"],
    error: /--weight must be a whole number between 0 and 100, got '101'/,
  },
  { name: "canary without --image", args: ["dev", "room-api", "canary", "--weight", "10"], error: /canary needs --image <ref>/ },
  { name: "canary without --weight", args: ["dev", "room-api", "canary", "--image", IMAGE], error: /canary needs --weight <n>/ },
  { name: "canary with an empty --image", args: ["dev", "room-api", "canary", "--image", "", "--weight", "10"], error: /--image must not be empty/ },
  {
    name: "--replicas not a number",
    args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--replicas", "two"],
    error: /--replicas must be a whole number between 0 and 1000, got 'two'/,
  },
  {
    name: "--replicas too many",
    args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--replicas", "5000"],
    error: /--replicas must be a whole number between 0 and 1000, got '5000'/,
  },
  { name: "a value for promote", args: ["dev", "room-api", "promote", "now"], error: /promote takes no value, got 'now'/ },
  { name: "--image for promote", args: ["dev", "room-api", "promote", "--image", IMAGE], error: /--image applies only to canary, not promote/ },
  {
    name: "--weight for weight",
    args: ["dev", "room-api", "weight", "--weight", "20"],
    error: /--weight applies only to canary, not weight \(write `weight <n>`\)/,
    lines: 3,
  },
  {
    name: "--replicas for rollback",
    args: ["dev", "room-api", "rollback", "--replicas", "2"],
    error: /--replicas applies only to canary and weight, not rollback/,
  },
  { name: "status --dry-run", args: ["dev", "room-api", "status", "--dry-run"], error: /--dry-run applies only to steps that edit the stack file, not status/ },
  { name: "status --yes", args: ["dev", "room-api", "status", "--yes"], error: /--yes applies only to steps that edit the stack file, not status/ },
  { name: "--yes with --dry-run", args: ["dev", "room-api", "promote", "--yes", "--dry-run"], error: /--yes confirms a deploy, and --dry-run deploys nothing/ },
  {
    name: "--dry-run with --no-deploy",
    args: ["dev", "room-api", "promote", "--dry-run", "--no-deploy"],
    error: /--dry-run writes nothing, --no-deploy writes the file/,
  },
  {
    name: "--baseline with --baseline-file",
    args: ["dev", "room-api", "promote", "--dry-run", "--baseline", "HEAD", "--baseline-file", "stacks/Pulumi.dev.yaml"],
    error: /--baseline and --baseline-file exclude each other/,
  },
  {
    name: "--baseline-file that does not exist",
    args: ["dev", "room-api", "promote", "--dry-run", "--baseline-file", "/nonexistent/Pulumi.dev.yaml"],
    error: /--baseline-file \/nonexistent\/Pulumi\.dev\.yaml does not exist/,
  },
  {
    name: "a --baseline that is not a commit is reported with the other mistakes, before any rendering",
    args: ["dev", "room-api", "promote", "--image", IMAGE, "--baseline", "no-such-ref"],
    error: /2 problems, nothing written:\n {2}--image applies only to canary, not promote\n {2}--baseline no-such-ref is not a commit in /,
    lines: 3,
  },
  { name: "an empty --baseline", args: ["dev", "room-api", "promote", "--baseline", ""], error: /^release: --baseline must not be empty/, not: /not a commit/ },
  {
    name: "an empty --stacks-dir",
    args: ["dev", "room-api", "status", "--stacks-dir", ""],
    error: /^release: --stacks-dir must not be empty/,
    stacksDir: false,
  },
  {
    name: "--baseline-file that is a FIFO",
    args: ["dev", "room-api", "promote", "--dry-run", "--baseline-file", "FIFO"],
    error: /--baseline-file \S+Pulumi\.x-fifo\.yaml is not a regular file/,
  },
  {
    name: "three independent mistakes, three lines",
    args: ["dev", "nope", "canary", "--image", "", "--weight", "150"],
    error:
      /3 problems, nothing written:\n {2}--image must not be empty.*\n {2}--weight must be a whole number between 0 and 100, got '150'\n {2}service 'nope' is unknown/,
    lines: 4,
  },
  // Stack and file selection
  {
    name: "unknown stack",
    args: ["nope", "room-api", "status"],
    error: /stack 'nope' is unknown: no \S+Pulumi\.nope\.yaml \(stacks: conflict, dev, dupkey, /,
    not: /stacks: none/,
  },
  { name: "stack name with a path in it", args: ["../dev", "room-api", "status"], error: /stack name '\.\.\/dev' is not valid: letters, digits/ },
  {
    name: "--stacks-dir that does not exist",
    args: ["dev", "room-api", "status", "--stacks-dir", "/nonexistent/stacks"],
    error: /^release: --stacks-dir \/nonexistent\/stacks does not exist$/,
    stacksDir: false,
  },
  {
    name: "--stacks-dir that is a file",
    args: ["dev", "room-api", "status", "--stacks-dir", "package.json"],
    error: /--stacks-dir \S+package\.json is not a folder/,
    stacksDir: false,
  },
  {
    name: "--stack-file that does not exist",
    args: ["dev", "room-api", "status", "--stack-file", "/nonexistent/Pulumi.dev.yaml"],
    error: /^release: --stack-file \/nonexistent\/Pulumi\.dev\.yaml does not exist$/,
    not: /has no file|stacks: none/,
    stacksDir: false,
  },
  {
    name: "--stack-file that is a folder",
    args: ["dev", "room-api", "status", "--stack-file", "stacks"],
    error: /--stack-file \S+stacks is not a file/,
    stacksDir: false,
  },
  {
    name: "--stack-file of another stack",
    args: ["prod", "room-api", "promote", "--stack-file", "stacks/Pulumi.dev.yaml"],
    error: /--stack-file \S+stacks\/Pulumi\.dev\.yaml is the file of stack 'dev', not of 'prod'/,
    stacksDir: false,
  },
  {
    name: "--stack-file with --stacks-dir",
    args: ["dev", "room-api", "status", "--stack-file", "stacks/Pulumi.dev.yaml"],
    error: /--stack-file and --stacks-dir exclude each other/,
  },
  {
    name: "unknown service",
    args: ["dev", "nope", "canary", "--image", IMAGE, "--weight", "10"],
    error: /service 'nope' is unknown in \S+Pulumi\.dev\.yaml \(services: room-api, course-api, session-rpc, whiteboard-rpc, attendance-consumer\)/,
  },
  // Broken stack files, under every action
  {
    name: "duplicate key, status",
    args: ["dupkey", "room-api", "status"],
    error: /Pulumi\.dupkey\.yaml:\d+:\d+ is not valid YAML: key 'stable' appears twice/,
  },
  {
    name: "duplicate key, canary",
    args: ["dupkey", "room-api", "canary", "--image", IMAGE, "--weight", "10"],
    error: /Pulumi\.dupkey\.yaml:\d+:\d+ is not valid YAML: key 'stable' appears twice/,
  },
  {
    name: "merge-conflict markers, weight",
    args: ["conflict", "room-api", "weight", "20"],
    error: /Pulumi\.conflict\.yaml:\d+:\d+ is not valid YAML: .*line \d+ is a merge-conflict marker/,
  },
  {
    name: "merge-conflict markers, status",
    args: ["conflict", "room-api", "status"],
    error: /Pulumi\.conflict\.yaml:\d+:\d+ is not valid YAML: .*merge-conflict marker/,
  },
  { name: "YAML syntax error, promote", args: ["syntax", "room-api", "promote"], error: /Pulumi\.syntax\.yaml:\d+:\d+ is not valid YAML: / },
  { name: "YAML syntax error, rollback", args: ["syntax", "room-api", "rollback"], error: /Pulumi\.syntax\.yaml:\d+:\d+ is not valid YAML: / },
  {
    name: "empty stack file",
    args: ["empty", "room-api", "status"],
    error: /Pulumi\.empty\.yaml is not a stack file: its top level must be a mapping with a `config:` key/,
  },
  { name: "`configs:` instead of `config:`", args: ["noconfig", "room-api", "rollback"], error: /Pulumi\.noconfig\.yaml has no `config:` key/ },
  { name: "a list at the top level", args: ["listroot", "room-api", "status"], error: /Pulumi\.listroot\.yaml is not a stack file/ },
  {
    name: "no services in the file",
    args: ["noservices", "room-api", "status"],
    error: /Pulumi\.noservices\.yaml declares no services \(config\.classroom:services is missing or not a mapping\)/,
  },
  {
    name: "a misspelled services namespace is named, not called missing",
    args: ["nsmisspelt", "room-api", "status"],
    error:
      /Pulumi\.nsmisspelt\.yaml declares no services .*clasroom:services is in namespace 'clasroom', which nothing reads .*did you mean classroom:services\?$/,
  },
  {
    name: "a stack file that is a FIFO, status",
    args: ["x-fifo", "room-api", "status"],
    error: /stack file \S+Pulumi\.x-fifo\.yaml is a FIFO, not a regular file/,
  },
  {
    name: "a stack file that is a FIFO, given with --stack-file",
    args: ["x-fifo", "room-api", "promote", "--stack-file", "FIFO"],
    error: /--stack-file \S+Pulumi\.x-fifo\.yaml is a FIFO, not a regular file/,
    stacksDir: false,
  },
  {
    name: "a stack file that is a dangling symlink",
    args: ["x-dangling", "room-api", "status"],
    error: /stack file \S+Pulumi\.x-dangling\.yaml is a dangling symlink \(to \S+gone\.yaml, which does not exist\)/,
    not: /is unknown/,
  },
  { name: "a service that is not a mapping", args: ["svcscalar", "room-api", "status"], error: /config\.classroom:services\.room-api must be a mapping/ },
  // Steps that do not apply, and problems that are not the step's
  { name: "promote with no canary", args: ["dev", "room-api", "promote"], error: /service 'room-api' has no canary to promote/ },
  {
    name: "weight with no canary",
    args: ["dev", "room-api", "weight", "20"],
    error: /service 'room-api' has no canary: 'weight' moves a running canary's weight/,
  },
  {
    name: "rollback with nothing to roll back",
    args: ["dev", "course-api", "rollback"],
    error: /nothing to roll back for 'course-api': no canary and an empty release history/,
  },
  {
    name: "canary without a stable track: the file's own problem, named by key",
    args: ["nostable", "whiteboard-rpc", "canary", "--image", "registry.classroom.internal/whiteboard-rpc:1.13.0", "--weight", "10"],
    error: /Pulumi\.nostable\.yaml already has a problem .*classroom:services\.whiteboard-rpc\.stable is required/,
    not: /after this edit/,
  },
  {
    name: "canary over a stable track with no pods",
    args: ["nopods", "course-api", "canary", "--image", "registry.classroom.internal/course-api:2.4.0", "--weight", "10"],
    error: /service 'course-api' has a stable track with 0 replicas/,
  },
  {
    name: "canary of the stable image",
    args: ["dev", "room-api", "canary", "--image", "registry.classroom.internal/room-api:1.8.2", "--weight", "10"],
    error: /--image registry\.classroom\.internal\/room-api:1\.8\.2 is already the stable image of 'room-api'/,
  },
  {
    name: "weight on a rolled-back canary blames its 0 replicas, not a --replicas never given",
    args: ["rolledback", "room-api", "weight", "20"],
    error: /the canary of 'room-api' has 0 replicas .*add --replicas <n>/,
    not: /--replicas 0/,
  },
  {
    name: "--replicas 0 with a weight, when given",
    args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10", "--replicas", "0"],
    error: /--replicas 0 with weight 10 would send 10% of 'room-api' traffic to no pods/,
  },
  {
    name: "a problem already in the file is not blamed on the step",
    args: ["evenzk", "room-api", "canary", "--image", IMAGE, "--weight", "10"],
    error: /Pulumi\.evenzk\.yaml already has a problem \(not caused by this command; fix it first\), nothing written: classroom:zookeeper\.replicas/,
    not: /after this edit/,
  },
  { name: "a problem already in the file, status", args: ["evenzk", "room-api", "status"], error: /already has a problem .*classroom:zookeeper\.replicas/ },
  {
    name: "an image the schema rejects is the edit's problem",
    args: ["dev", "room-api", "canary", "--image", "Not An Image", "--weight", "5"],
    error: /invalid stack configuration after this edit, nothing written: classroom:services\.room-api\.canary\.image must be an image reference/,
  },
  // run and abort
  { name: "--continue on a step other than run", args: ["dev", "room-api", "weight", "20", "--continue"], error: /--continue applies only to run, not weight/ },
  { name: "run with --dry-run", args: ["dev", "room-api", "run", "--dry-run"], error: /--dry-run applies to one step, not to run .*use --no-deploy/ },
  {
    name: "run with no canary",
    args: ["dev", "room-api", "run", "--no-deploy"],
    error: /service 'room-api' has no canary to roll out: start one with `canary --image <ref> --weight <n>`/,
  },
  { name: "abort with no canary", args: ["dev", "room-api", "abort", "--no-deploy"], error: /nothing to abort for 'room-api': it has no canary/ },
  {
    name: "abort of a rolled-back canary",
    args: ["rolledback", "room-api", "abort", "--no-deploy"],
    error: /nothing to abort for 'room-api': its canary is already rolled back/,
  },
  {
    name: "run of a rolled-back canary",
    args: ["rolledback", "room-api", "run", "--no-deploy"],
    error: /the canary of 'room-api' was rolled back \(weight 0, 0 replicas\): start a new one/,
  },
  // The deploy: like CI, or refused before anything is written
  {
    name: "a deploy asked for with no pulumi on PATH is refused, not turned into a file-only edit",
    args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10"],
    error: /^release: pulumi CLI not found on PATH, so nothing can be deployed; nothing written: .*--no-deploy/,
  },
  // The deploy's confirmation rule
  {
    name: "a deploy without --yes and without a terminal is refused before anything else",
    args: ["dev", "room-api", "canary", "--image", IMAGE, "--weight", "10"],
    error: /^release: no terminal to confirm the deploy on: pass --yes .*or --no-deploy/,
    pulumi: true,
  },
];

let results: Run[];
let before: Record<string, string>;

beforeAll(async () => {
  stacksDir = copyOfStacks("release-misuse-");
  writeBrokenStacks(stacksDir);
  standIn = pulumiStandIn();
  before = checksums(stacksDir);
  results = await runAll(
    cases,
    (c) =>
      runRelease(
        [...c.args.map((a) => (a === "FIFO" ? path.join(stacksDir, "Pulumi.x-fifo.yaml") : a)), ...(c.stacksDir === false ? [] : ["--stacks-dir", stacksDir])],
        {
          binDir: c.pulumi ? standIn.binDir : undefined,
          timeoutMs: 90_000,
        },
      ),
    4,
  );
}, 600_000);

afterAll(() => {
  fs.rmSync(stacksDir, { recursive: true, force: true });
  standIn.cleanup();
});

describe("release misuse: exit 2, the problem named on one line (or one line per problem), no trace", () => {
  test.each(cases.map((c, i) => [c.name, i] as const))("%s", (_name, i) => {
    const c = cases[i];
    const { code, stdout, stderr } = results[i];
    expect({ code, stderr: stderr.trimEnd() }).toEqual({ code: 2, stderr: expect.stringMatching(c.error) });
    expect(errorLines(stderr)).toHaveLength(c.lines ?? 1);
    expect(stderr).not.toMatch(TRACE);
    if (c.not) expect(stderr).not.toMatch(c.not);
    expect(stdout).not.toMatch(/^(wrote|running|deployed) /m);
  });

  test("every file is byte-identical afterwards, and no pulumi command ran", () => {
    expect(checksums(stacksDir)).toEqual(before);
    expect(standIn.calls()).toEqual([]);
  });

  test("--debug adds the trace that is otherwise left out", async () => {
    const run = await runRelease(["dupkey", "room-api", "status", "--stacks-dir", stacksDir, "--debug"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(TRACE);
  }, 60_000);

  test("--version prints the project's version and exits 0", async () => {
    const run = await runRelease(["--version"]);
    expect(run).toEqual({ code: 0, stdout: `${JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).version}\n`, stderr: "" });
  }, 60_000);
});
