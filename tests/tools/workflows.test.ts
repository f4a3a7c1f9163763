// The CI workflows, wired to the project as it is: every stack previewed with its own policy config,
// deployed in order with prod behind its environment, drift-checked unless render-only, the same Pulumi
// CLI everywhere. (actionlint, which needs its binary, runs in tests/cli/actionlint.test.ts.)
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github/workflows");
type Yaml = Record<string, any>;

function workflow(file: string): Yaml {
  return parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as Yaml;
}

function stacks(): { name: string; renderOnly: boolean }[] {
  return fs
    .readdirSync(path.join(ROOT, "stacks"))
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .map((f) => {
      const config = (parse(fs.readFileSync(path.join(ROOT, "stacks", f), "utf8")) as Yaml)?.config ?? {};
      return { name: f.slice("Pulumi.".length, -".yaml".length), renderOnly: Boolean(config["classroom:renderYamlToDirectory"]) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every step of every job of a workflow that uses pulumi/actions. */
function pulumiSteps(wf: Yaml): Yaml[] {
  return Object.values(wf.jobs as Record<string, Yaml>).flatMap((job) =>
    (job.steps ?? []).filter((s: Yaml) => String(s.uses ?? "").startsWith("pulumi/actions@")),
  );
}

test("tests run on every pull request through the README's command (.ci/run)", () => {
  const wf = workflow("test.yml");
  expect(wf.on).toHaveProperty("pull_request");
  const runs = wf.jobs.test.steps.map((s: Yaml) => s.run).filter(Boolean);
  expect(runs).toContain("bash .ci/run");
  expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("bash tools/provision/all.sh && npm test");
});

test("pull requests preview every stack with the policy pack at that stack's enforcement level, commenting on the PR", () => {
  const wf = workflow("preview.yml");
  expect(wf.on).toHaveProperty("pull_request");
  expect(wf.permissions["pull-requests"]).toBe("write");
  expect([...wf.jobs.preview.strategy.matrix.stack].sort()).toEqual(stacks().map((s) => s.name));
  for (const stack of wf.jobs.preview.strategy.matrix.stack) expect(fs.existsSync(path.join(ROOT, "policies/config", `${stack}.json`))).toBe(true);
  const [step] = pulumiSteps(wf);
  expect(step.with).toMatchObject({
    command: "preview",
    policyPacks: "policies",
    policyPackConfigs: "policies/config/${{ matrix.stack }}.json",
    "comment-on-pr": true,
  });
  expect(
    wf.jobs.preview.steps
      .map((s: Yaml) => s.run)
      .filter(Boolean)
      .join("\n"),
  ).toContain('npm run synth -- --stack "$STACK"');
});

test("merges to main deploy dev, then staging, then prod, each in its own environment", () => {
  const wf = workflow("deploy.yml");
  expect(wf.on.push.branches).toEqual(["main"]);
  const reusable = "./.github/workflows/pulumi-up.yml";
  expect(wf.jobs.dev).toMatchObject({ uses: reusable, with: { stack: "dev" } });
  expect(wf.jobs.staging).toMatchObject({ uses: reusable, with: { stack: "staging" }, needs: "dev" });
  expect(wf.jobs.prod).toMatchObject({ uses: reusable, with: { stack: "prod" }, needs: "staging" });
  const up = workflow("pulumi-up.yml");
  // The environment named after the stack is what holds prod until a reviewer approves.
  expect(up.jobs.up.environment).toBe("${{ inputs.stack }}");
  expect(up.jobs.up.concurrency).toMatchObject({ "cancel-in-progress": false });
  expect(pulumiSteps(up)[0].with).toMatchObject({ command: "up", policyPacks: "policies", policyPackConfigs: "policies/config/${{ inputs.stack }}.json" });
});

test("pull requests show each stack's topology, drawn by synth, in the job summary and beside the plan", () => {
  const steps = workflow("preview.yml").jobs.preview.steps as Yaml[];
  const synth = steps.findIndex((s) => String(s.run ?? "").includes("npm run synth"));
  const summary = steps.findIndex((s) => String(s.run ?? "").includes('cat "out/$STACK/topology.md" >> "$GITHUB_STEP_SUMMARY"'));
  const post = steps.findIndex((s) => String(s.run ?? "").includes("classroom-topology:$STACK"));
  expect(synth).toBeGreaterThanOrEqual(0);
  expect(summary).toBeGreaterThan(synth);
  expect(post).toBeGreaterThan(synth);
  // One comment per stack, edited in place: the marker finds it again on the next push.
  expect(steps[post].run).toContain("PATCH");
  expect(steps[post].env.GH_TOKEN).toBe("${{ github.token }}");
});

test("a nightly drift check previews every deployed stack with --refresh --expect-no-changes", () => {
  const wf = workflow("drift.yml");
  expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
  const deployed = stacks()
    .filter((s) => !s.renderOnly)
    .map((s) => s.name);
  expect([...wf.jobs.drift.strategy.matrix.stack].sort()).toEqual(deployed);
  expect(pulumiSteps(wf)[0].with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true });
});

test("pulumi/actions is pinned to a commit with its version noted, and runs the toolchain's Pulumi CLI", () => {
  const pulumiVersion = /^PULUMI_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "tools/toolchain/versions.env"), "utf8"))?.[1];
  expect(pulumiVersion).toBeDefined();
  let steps = 0;
  for (const file of fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"))) {
    const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
    for (const m of text.matchAll(/uses:\s*pulumi\/actions@(\S+)(.*)$/gm)) {
      expect(m[1]).toMatch(/^[0-9a-f]{40}$/);
      expect(m[2]).toMatch(/# v\d+\.\d+\.\d+/);
    }
    for (const step of pulumiSteps(workflow(file))) {
      steps++;
      expect(step.with["pulumi-version"]).toBe(pulumiVersion);
    }
  }
  expect(steps).toBeGreaterThanOrEqual(3);
});

test("the runtime image builds on every push to main that changes what the Dockerfile copies, and never on its own pin", () => {
  const wf = workflow("runtime-image.yml");
  expect(wf.on.push.branches).toEqual(["main"]);
  const filters = wf.on.push.paths as string[];
  const covered = (file: string) => filters.some((p) => (p.endsWith("/**") ? file.startsWith(p.slice(0, -2)) : file === p));
  const dockerfile = fs.readFileSync(path.join(ROOT, "runtime/Dockerfile"), "utf8");
  // Sources of every COPY from the build context (COPY --from=<stage> copies from another stage).
  const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/).slice(0, -1));
  expect(sources.length).toBeGreaterThanOrEqual(3);
  const needed = [
    ...sources.map((s) => (s.endsWith("/") ? `${s}Dockerfile` : s)),
    "runtime/Dockerfile",
    ".dockerignore",
    ".github/workflows/runtime-image.yml",
  ];
  expect(needed.filter((f) => !covered(f))).toEqual([]);
  // The pin pull request edits only the stack files: its merge must not build (and pin) again.
  expect(stacks().filter((s) => covered(`stacks/Pulumi.${s.name}.yaml`))).toEqual([]);
});
