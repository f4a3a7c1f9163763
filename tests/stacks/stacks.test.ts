import * as fs from "node:fs";
import * as path from "node:path";
import { renderStack } from "../support/render";

const ROOT = path.resolve(__dirname, "../..");
const STACKS = fs
  .readdirSync(path.join(ROOT, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s);

describe("project stacks", () => {
  it("has the four stacks the design names", () => {
    expect(STACKS.sort()).toEqual(["dev", "local", "prod", "staging"]);
  });

  it.each(STACKS)("%s synthesizes with zero schema errors", async (stack) => {
    const result = await renderStack(stack);
    expect(result.schemaProblems).toEqual([]);
    expect(result.objects.length).toBeGreaterThan(40);
  });

  it("local renders through a provider that writes YAML instead of deploying", async () => {
    const result = await renderStack("local");
    expect(result.resources).toContainEqual({
      type: "pulumi:providers:kubernetes",
      name: "kubernetes",
      props: { renderYamlToDirectory: "out/local/manifests" },
    });
  });
});
