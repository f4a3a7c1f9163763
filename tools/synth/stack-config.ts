import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** Where the project lives: the folder holding Pulumi.yaml. */
export const PROJECT_ROOT = path.resolve(__dirname, "../..");

export interface StackConfig {
  project: string;
  stack: string;
  /** `namespace:key` -> value as Pulumi hands config to a program (objects as JSON text). */
  config: Record<string, string>;
  /** Keys that are `secure:` in the stack file; synth gives them placeholders. */
  secretKeys: string[];
}

/** Thrown for a missing or unreadable stack file; the CLI prints the message alone. */
export class StackFileError extends Error {}

/**
 * Reads config the way the Pulumi CLI does: project-level defaults from Pulumi.yaml, then the stack's
 * `stacks/Pulumi.<stack>.yaml` on top. `secure:` values cannot be decrypted offline, so each becomes a
 * placeholder that is still marked secret.
 */
export function loadStackConfig(stack: string, options: { root?: string; stackFile?: string } = {}): StackConfig {
  const root = options.root ?? PROJECT_ROOT;
  const projectFile = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name: string; stackConfigDir?: string; config?: Record<string, { default?: unknown; value?: unknown }>;
  };
  const stackFile = options.stackFile ?? path.join(root, projectFile.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    const dir = path.dirname(stackFile);
    const known = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)) : [];
    throw new StackFileError(`stack '${stack}' has no file ${path.relative(root, stackFile)} (stacks: ${known.join(", ") || "none"})`);
  }
  let stackDoc: { config?: Record<string, unknown> } | null;
  try {
    stackDoc = parse(fs.readFileSync(stackFile, "utf8"));
  } catch (err) {
    throw new StackFileError(`${path.relative(root, stackFile)} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, decl] of Object.entries(projectFile.config ?? {})) {
    const value = decl?.value ?? decl?.default;
    if (value !== undefined) config[qualify(projectFile.name, key)] = encode(value);
  }
  for (const [key, value] of Object.entries(stackDoc?.config ?? {})) {
    const full = qualify(projectFile.name, key);
    if (value && typeof value === "object" && "secure" in (value as object)) {
      config[full] = `<secret ${key} from pulumi config>`;
      secretKeys.push(full);
    } else {
      config[full] = encode(value);
    }
  }
  return { project: projectFile.name, stack, config, secretKeys };
}

function qualify(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
