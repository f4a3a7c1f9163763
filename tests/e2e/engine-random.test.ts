import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as random from "@pulumi/random";
import { Stack } from "@pulumi/pulumi/automation";
import { EngineProject, RunLog, plannedChanges, stepsOf, testProject } from "./support/engine";

// The test-only random provider (tests/fixtures/random-provider) under the real engine: the resources the
// platform uses, with the official tokens, defaults, secret outputs, stable state and replacement rules.
// No cluster needed. Fails, naming the build command, when the Pulumi CLI is not built.

jest.setTimeout(300_000);

/** What the program below declares; tests change it between operations. */
const declared = {
  password: { length: 32, special: false } as random.RandomPasswordArgs,
  id: { byteLength: 16, keepers: { release: "1" } } as random.RandomIdArgs,
  strict: { length: 24, minUpper: 3, minNumeric: 3, minSpecial: 2, overrideSpecial: "-_" } as random.RandomPasswordArgs,
};

const program = async () => {
  const password = new random.RandomPassword("password", declared.password);
  const clusterId = new random.RandomId("cluster-id", declared.id);
  const strict = new random.RandomPassword("strict", declared.strict);
  const prefixed = new random.RandomId("prefixed", { byteLength: 4, prefix: "kafka-" });
  return {
    password: password.result,
    bcryptHash: password.bcryptHash,
    strict: strict.result,
    b64Url: clusterId.b64Url,
    hex: clusterId.hex,
    dec: clusterId.dec,
    b64Std: clusterId.b64Std,
    prefixedHex: prefixed.hex,
    prefixedDec: prefixed.dec,
  };
};

let project: EngineProject;
let stack: Stack;
const log = new RunLog();
let firstOutputs: Record<string, { value: any; secret: boolean }>;

beforeAll(async () => {
  project = await testProject({ program });
  stack = await project.stack("random");
  firstOutputs = (await stack.up(log.capture())).outputs;
});

afterAll(() => project?.dispose());

describe("random stand-in under the real engine", () => {
  it("generates passwords from the requested character sets, honouring minimums and overrideSpecial", () => {
    expect(firstOutputs.password.value).toMatch(/^[A-Za-z0-9]{32}$/);
    const strict: string = firstOutputs.strict.value;
    expect(strict).toHaveLength(24);
    expect(strict).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(strict.replace(/[^A-Z]/g, "").length).toBeGreaterThanOrEqual(3);
    expect(strict.replace(/[^0-9]/g, "").length).toBeGreaterThanOrEqual(3);
    expect(strict.replace(/[^_-]/g, "").length).toBeGreaterThanOrEqual(2);
  });

  it("returns a bcrypt hash of the result that verifies against it", () => {
    const hash: string = firstOutputs.bcryptHash.value;
    expect(hash).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    const again = execFileSync("perl", ["-e", "my $p = <STDIN>; chomp $p; print crypt($p, $ARGV[0])", hash], {
      input: `${firstOutputs.password.value}\n`,
      encoding: "utf8",
    });
    expect(again).toBe(hash);
  });

  it("encodes one random id in every official encoding, with the prefix on each", () => {
    const hex: string = firstOutputs.hex.value;
    expect(hex).toMatch(/^[0-9a-f]{32}$/);
    const bytes = Buffer.from(hex, "hex");
    expect(firstOutputs.b64Url.value).toBe(bytes.toString("base64url"));
    expect(firstOutputs.b64Std.value).toBe(bytes.toString("base64"));
    expect(firstOutputs.dec.value).toBe(BigInt(`0x${hex}`).toString());
    expect(firstOutputs.prefixedHex.value).toMatch(/^kafka-[0-9a-f]{8}$/);
    expect(firstOutputs.prefixedDec.value).toBe(`kafka-${BigInt(`0x${firstOutputs.prefixedHex.value.slice(6)}`).toString()}`);
  });

  it("marks the password outputs secret and never writes them to state or logs in plain text", () => {
    expect(firstOutputs.password.secret).toBe(true);
    expect(firstOutputs.bcryptHash.secret).toBe(true);
    expect(firstOutputs.strict.secret).toBe(true);
    const checkpoint = fs.readFileSync(project.checkpointFile("random"), "utf8");
    for (const value of [firstOutputs.password.value, firstOutputs.bcryptHash.value, firstOutputs.strict.value]) {
      expect(checkpoint).not.toContain(value);
      expect(log.text()).not.toContain(value);
    }
    expect(checkpoint).toContain("ciphertext");
  });

  it("keeps every value on a re-run: a second preview plans nothing and up changes nothing", async () => {
    const preview = await stack.preview(log.capture());
    expect(plannedChanges(preview.changeSummary)).toEqual({});
    const up = await stack.up(log.capture());
    expect(up.outputs.password.value).toBe(firstOutputs.password.value);
    expect(up.outputs.hex.value).toBe(firstOutputs.hex.value);
  });

  it("replaces exactly the resource whose keepers or inputs changed, with a new value", async () => {
    declared.id = { ...declared.id, keepers: { release: "2" } };
    declared.password = { ...declared.password, length: 40 };
    const events = new RunLog();
    const preview = await stack.preview(events.capture());
    expect(plannedChanges(preview.changeSummary)).toEqual({ replace: 2 });
    const replaced = stepsOf(events.events, "replace")
      .map((s) => `${s.urn.split("::").pop()}: ${s.keys.join(",")}`)
      .sort();
    expect(replaced).toEqual(["cluster-id: keepers", "password: length"]);

    const up = await stack.up(log.capture());
    expect(up.outputs.hex.value).not.toBe(firstOutputs.hex.value);
    expect(up.outputs.password.value).toHaveLength(40);
    expect(up.outputs.strict.value).toBe(firstOutputs.strict.value);
  });

  it("rejects impossible inputs with the official provider's rule, naming the property", async () => {
    declared.strict = { length: 4, minUpper: 3, minNumeric: 3 };
    await expect(stack.preview()).rejects.toThrow(/length \(4\) must be at least the sum of minLower, minUpper, minNumeric and minSpecial \(6\)/);
    declared.strict = { length: 24, minUpper: 3, minNumeric: 3, minSpecial: 2, overrideSpecial: "-_" };
  });
});
