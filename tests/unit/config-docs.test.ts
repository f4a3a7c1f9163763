// The configuration reference is generated from the schema (tools/config-docs): these tests hold the
// committed README.md and Pulumi.yaml to it, so `npm test` fails when a key changes without them.
import { MQ_DEFAULTS } from "@classroom-platform/runtime/contracts";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import {
  configJsonSchema,
  configKeys,
  driftedFiles,
  renderTable,
  TABLE_END,
  TABLE_START,
  updatePulumiYaml,
  writeGenerated,
} from "../../tools/config-docs/generate";
import { PROJECT_ROOT } from "../../tools/synth";

/** A copy of the two generated files in a temporary project root. */
function copyOfProject(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "config-docs-"));
  for (const file of ["README.md", "Pulumi.yaml"]) fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(root, file));
  return root;
}

describe("the configuration reference generated from the schema", () => {
  it("is what the committed README.md and Pulumi.yaml hold (run npm run config:docs after changing a key)", () => {
    expect(driftedFiles(PROJECT_ROOT)).toEqual([]);
  });

  it("detects a hand edit of README's table and names the file", () => {
    const root = copyOfProject();
    const readme = path.join(root, "README.md");
    fs.writeFileSync(readme, fs.readFileSync(readme, "utf8").replace("| `logRoot` | string |", "| `logRoot` | path |"));
    expect(driftedFiles(root)).toEqual(["README.md"]);
    expect(writeGenerated(root)).toEqual(["README.md"]);
    expect(driftedFiles(root)).toEqual([]);
  });

  it("detects a stale description in Pulumi.yaml and keeps its comments when rewriting it", () => {
    const root = copyOfProject();
    const file = path.join(root, "Pulumi.yaml");
    const committed = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, committed.replace(/(classroom:logRoot:\n(?: {4}.*\n)*? {4}description: ).*/, "$1an old text"));
    expect(driftedFiles(root)).toEqual(["Pulumi.yaml"]);
    writeGenerated(root);
    expect(fs.readFileSync(file, "utf8")).toBe(committed);
    expect(committed).toMatch(/^ {2}# Every key is parsed/m);
  });

  it("gives every key, nested ones included, a description", () => {
    const undescribed = configKeys()
      .filter((k) => !k.description)
      .map((k) => k.key);
    expect(undescribed).toEqual([]);
  });

  it("lists every key a stack file may set, with defaults from the schema", () => {
    const keys = new Map(configKeys().map((k) => [k.key, k]));
    expect(keys.get("environment")).toMatchObject({ required: true, type: "`dev` \\| `staging` \\| `prod` \\| `local`" });
    expect(keys.get("mq.shards")).toMatchObject({ default: String(MQ_DEFAULTS.shards), type: "integer >= 1" });
    // A default after a transform is only stated by the output form of the schema.
    expect(keys.get("skipAwait")).toMatchObject({ default: "false" });
    expect(keys.get("services.<name>.canary.weight")).toMatchObject({ required: true, type: "integer 0-100" });
    expect(keys.get("mysql.users[].access")).toBeDefined();
    expect(keys.get("scheduler.jobs.<name>.schedule.everyMs")).toBeDefined();
    expect(keys.get("scheduler.jobs.<name>.schedule")?.type).toBe("`{cron, timezone}` or `{everyMs}`");
    expect(keys.get("redis.resources")?.type).toBe("mapping, keys as `zookeeper.resources`");
  });

  it("picks up a new key without any change to the generator", () => {
    const schema = z.strictObject({
      fresh: z
        .strictObject({ knob: z.number().int().min(2).default(3).describe("A new knob") })
        .prefault({})
        .describe("A new section"),
    });
    const table = renderTable(configKeys(configJsonSchema(schema)));
    expect(table).toContain("| `fresh` | mapping |  | A new section |");
    expect(table).toContain("| `fresh.knob` | integer >= 2 | `3` | A new knob |");
  });

  it("writes only descriptions into Pulumi.yaml, and refuses a declared key the schema does not have", () => {
    const text = "name: p\nconfig:\n  # kept\n  classroom:mq:\n    description: old\n  other:key:\n    description: untouched\n";
    const out = updatePulumiYaml(text);
    expect(out).toContain("# kept");
    expect(parse(out).config).toEqual({
      "classroom:mq": { description: `${configJsonSchema().properties!.mq.description}; keys: replayerReplicas, shards` },
      "other:key": { description: "untouched" },
    });
    expect(() => updatePulumiYaml("config:\n  classroom:nothing:\n    description: x\n")).toThrow(/classroom:nothing/);
  });

  it("keeps README's text outside the markers", () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    expect(readme.indexOf(TABLE_START)).toBeGreaterThan(0);
    expect(readme.indexOf(TABLE_END)).toBeGreaterThan(readme.indexOf(TABLE_START));
  });
});
