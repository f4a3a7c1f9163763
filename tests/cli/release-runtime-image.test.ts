// `npm run release:runtime-image` as the runtime-image workflow runs it: a child process per command on a
// copy of the stack files.
import * as fs from "node:fs";
import * as path from "node:path";
import { checksums, copyOfStacks, errorLines, Run, runRelease, TRACE } from "./release-runner";

jest.setTimeout(180_000);

const DIGEST = `sha256:${"ab12".repeat(16)}`;
const PINNED = `registry.classroom.internal/classroom-platform-runtime:0.2.0-3f9c2a1b7d4e@${DIGEST}`;

function pin(args: string[]): Promise<Run> {
  return runRelease(args, { script: "tools/release/runtime-image-cli.ts" });
}

describe("release:runtime-image refuses what is not a pin, naming the argument, and changes nothing", () => {
  const stacks = copyOfStacks("runtime-image-misuse-");
  const before = checksums(stacks);
  afterAll(() => fs.rmSync(stacks, { recursive: true, force: true }));

  test.each([
    ["a tag without a digest", ["dev", "registry.classroom.internal/classroom-platform-runtime:0.2.0"], /has no digest: pin it as .*@sha256:<64 hex digits>/],
    [
      "a digest that is not sha256 of 64 hex digits",
      ["dev", "registry.classroom.internal/classroom-platform-runtime:0.2.0@sha256:abc"],
      /the digest must be sha256:<64 hex digits>, got 'sha256:abc'/,
    ],
    ["an unknown stack", ["qa", PINNED], /Pulumi\.qa\.yaml/],
    ["no image at all", ["dev"], /missing required argument 'image'/],
  ])("%s", async (_case, args, message) => {
    const run = await pin([...args, "--stacks-dir", stacks]);
    expect({ code: run.code, trace: TRACE.test(run.stderr) }).toEqual({ code: 2, trace: false });
    expect(errorLines(run.stderr).join("\n")).toMatch(message);
    expect(checksums(stacks)).toEqual(before);
  });
});

test("pins the image in one stack file: only that key changes, the diff shows the daemons' new image, the mode is kept", async () => {
  const stacks = copyOfStacks("runtime-image-pin-");
  try {
    const file = path.join(stacks, "Pulumi.staging.yaml");
    fs.chmodSync(file, 0o640);
    const original = fs.readFileSync(file, "utf8");
    const run = await pin(["staging", PINNED, "--stacks-dir", stacks]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/Deployment\/\S+\/scheduler-stable/);
    expect(run.stdout).toMatch(/Deployment\/\S+\/mq-replayer-stable/);
    expect(run.stdout).toContain(PINNED);

    const edited = fs.readFileSync(file, "utf8");
    const changed = edited.split("\n").filter((line) => !original.split("\n").includes(line));
    expect(changed).toEqual([`  classroom:runtimeImage: ${PINNED}`]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);

    // Pinning again is a no-op that says so.
    const again = await pin(["staging", PINNED, "--stacks-dir", stacks]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/no change: .* already pins/);
    expect(fs.readFileSync(file, "utf8")).toBe(edited);
  } finally {
    fs.rmSync(stacks, { recursive: true, force: true });
  }
});
