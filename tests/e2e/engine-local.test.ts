import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { parseAllDocuments } from "yaml";
import { EngineProject, RunLog, plannedChanges, testProject } from "./support/engine";
import { generatedSecrets } from "./support/secrets";
import { ChildSynth, identity, synthInChild } from "./support/synth";
import { comparableSpec, differences } from "./support/normalize";

// The render-only `local` stack through the real engine: the Kubernetes provider writes YAML instead of
// talking to a cluster (no control plane needed). What it writes must be what synth renders, and no
// generated password may appear in it other than base64-encoded inside a Secret.

jest.setTimeout(300_000);

let project: EngineProject;
let stack: Stack;
let synth: ChildSynth;
let renderDir: string;
let manifests: { file: string; text: string; object: Record<string, any> }[];
const log = new RunLog();

beforeAll(async () => {
  project = await testProject();
  renderDir = path.join(project.workDir, "render-local");
  stack = await project.stack("local", { "classroom:renderYamlToDirectory": renderDir });
  synth = await synthInChild("local", project.stackFile("local"));
  const up = await stack.up(log.capture());
  expect(up.summary.result).toBe("succeeded");
  manifests = readManifests(renderDir);
});

afterAll(() => project?.dispose());

function readManifests(dir: string): { file: string; text: string; object: Record<string, any> }[] {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && /\.ya?ml$/.test(f.name));
  return files.flatMap((f) => {
    const file = path.join(f.parentPath, f.name);
    const text = fs.readFileSync(file, "utf8");
    return parseAllDocuments(text)
      .map((d) => d.toJS())
      .filter(Boolean)
      .map((object) => ({ file, text, object }));
  });
}

describe("local stack rendered by the real engine", () => {
  it("writes one manifest per object synth renders: the same kind, namespace and name set", () => {
    expect(manifests.map((m) => identity(m.object)).sort()).toEqual(synth.objects.map((o) => identity(o.object)).sort());
  });

  it("writes the same specs as synth, apart from values generated at deploy time", () => {
    const bySynth = new Map(synth.objects.map((o) => [identity(o.object), o.object]));
    const differing = manifests.flatMap((m) =>
      differences(comparableSpec(bySynth.get(identity(m.object))!), comparableSpec(m.object)).map((d) => `${identity(m.object)} ${d}`),
    );
    expect(differing).toEqual([]);
  });

  it("a second preview plans no changes", async () => {
    expect(plannedChanges((await stack.preview(log.capture())).changeSummary)).toEqual({});
  });

  it("no generated password appears in plain text in the manifests, the state or the engine's output", async () => {
    const secrets = await generatedSecrets(stack);
    expect(secrets.length).toBeGreaterThan(0);
    const checkpoint = fs.readFileSync(project.checkpointFile("local"), "utf8");
    for (const secret of secrets) {
      for (const m of manifests) expect({ file: m.file, found: m.text.includes(secret) }).toEqual({ file: m.file, found: false });
      expect({ where: "state", found: checkpoint.includes(secret) }).toEqual({ where: "state", found: false });
      expect({ where: "engine output", found: log.text().includes(secret) }).toEqual({ where: "engine output", found: false });
    }
  });

  it("passwords reach the manifests only base64-encoded inside Secrets", async () => {
    const secrets = (await generatedSecrets(stack)).filter((s) => !s.startsWith("$2a$"));
    const carriers = manifests.filter((m) =>
      secrets.some(
        (s) =>
          JSON.stringify(m.object).includes(Buffer.from(s).toString("base64")) ||
          Object.values<string>(m.object.data ?? {}).some((v) => Buffer.from(v, "base64").toString("utf8").includes(s)),
      ),
    );
    expect(carriers.length).toBeGreaterThan(0);
    expect([...new Set(carriers.map((m) => m.object.kind))]).toEqual(["Secret"]);
  });
});
