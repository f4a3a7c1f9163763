import * as path from "node:path";
import { PassThrough } from "node:stream";
import { askToDeploy, confirmationRule, DeployTarget, policyConfigFor, pulumiPreviewArgs, pulumiUpArgs } from "../../tools/release/deploy";
import { ReleaseError } from "../../tools/release/errors";
import { PROJECT_ROOT } from "../../tools/synth";

/** The pulumi commands a release runs and the rule for when it may deploy without asking. */
const policyConfig = path.join(PROJECT_ROOT, "policies", "config", "prod.json");
const own: DeployTarget = { stack: "prod", stackFile: path.join(PROJECT_ROOT, "stacks", "Pulumi.prod.yaml"), root: PROJECT_ROOT, policyConfig };
const POLICY = ["--policy-pack", path.join(PROJECT_ROOT, "policies"), "--policy-pack-config", policyConfig];

describe("pulumi commands of a release", () => {
  test("preview and up carry the stack's policy pack and its enforcement config, as CI runs them", () => {
    expect(pulumiPreviewArgs(own)).toEqual(["preview", "--stack", "prod", "--cwd", PROJECT_ROOT, ...POLICY]);
    expect(pulumiUpArgs(own)).toEqual(["up", "--yes", "--stack", "prod", "--cwd", PROJECT_ROOT, ...POLICY]);
  });

  test("a stack file outside the project's stacks/ is passed with --config-file; an unwritten edit is previewed from its copy", () => {
    const copy = { ...own, stackFile: "/tmp/x/Pulumi.prod.yaml" };
    expect(pulumiUpArgs(copy)).toEqual(["up", "--yes", "--stack", "prod", "--cwd", PROJECT_ROOT, "--config-file", "/tmp/x/Pulumi.prod.yaml", ...POLICY]);
    expect(pulumiPreviewArgs(own, { stackFile: "/tmp/edit/Pulumi.prod.yaml" })).toContain("/tmp/edit/Pulumi.prod.yaml");
  });

  test("whether the stack runs what the file says is asked with --expect-no-changes", () => {
    expect(pulumiPreviewArgs(own, { expectNoChanges: true }).slice(-1)).toEqual(["--expect-no-changes"]);
  });

  test("the policy config is the stack's own file, else its environment's, else a one-line error naming both", () => {
    expect(policyConfigFor("prod", "prod")).toBe(policyConfig);
    expect(policyConfigFor("prod-eu", "prod")).toBe(policyConfig);
    expect(() => policyConfigFor("qa", "qa")).toThrow(
      new ReleaseError(
        `no policy config for stack 'qa' or environment 'qa' in ${path.join(PROJECT_ROOT, "policies", "config")} (configs: dev, local, prod, staging): the deploy runs the policy pack with it`,
      ),
    );
  });
});

describe("confirmation", () => {
  test("--yes deploys without asking; a terminal is asked; without a terminal the release refuses", () => {
    expect(confirmationRule(true, false)).toBe("go");
    expect(confirmationRule(true, true)).toBe("go");
    expect(confirmationRule(false, true)).toBe("ask");
    expect(confirmationRule(false, false)).toBe("refuse");
  });

  test.each([
    ["y", true],
    ["yes", true],
    ["YES", true],
    ["", false],
    ["n", false],
    ["yep", false],
  ] as const)("answer %j confirms: %s", async (answer, confirmed) => {
    const input = new PassThrough();
    const output = new PassThrough();
    const asked = askToDeploy("Deploy?", input, output);
    input.end(`${answer}\n`);
    await expect(asked).resolves.toBe(confirmed);
    expect(String(output.read())).toContain("Deploy? [y/N] ");
  });
});
