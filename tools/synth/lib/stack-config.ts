import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { closest } from "../../../infra/config/suggest";

/** Where the project lives: the folder holding Pulumi.yaml. */
export const PROJECT_ROOT = path.resolve(__dirname, "../../..");

export interface StackConfig {
  project: string;
  stack: string;
  /** The stack file read. */
  file: string;
  /** `namespace:key` -> value as Pulumi hands config to a program (objects as JSON text). */
  config: Record<string, string>;
  /** Keys that are `secure:` in the stack file; synth gives them placeholders. */
  secretKeys: string[];
}

/** Thrown for a missing or unreadable stack file; the CLI prints the message alone. */
export class StackFileError extends Error {}

/** Top-level keys of a Pulumi stack file (the CLI's workspace.ProjectStack). */
const STACK_FILE_KEYS = ["config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt"];

interface ProjectFile {
  name: string;
  stackConfigDir?: string;
  config?: Record<string, { default?: unknown; value?: unknown }>;
}

function readProjectFile(root: string): ProjectFile {
  return parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

/** How a stack file is shown in messages: relative to the working folder when inside it. */
export function showPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}

/**
 * The stack file synth reads for `stack` (or `stackFile`), checked to exist. Messages name the file the
 * user gave, and a stack name must be a plain name (it becomes part of a path).
 */
/** Whether `stack` can be a stack name (it becomes part of file and folder names). */
export function isStackName(stack: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack);
}

export function stackFilePath(stack: string, stackFile?: string, root = PROJECT_ROOT): string {
  if (!isStackName(stack)) {
    throw new StackFileError(
      `--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '.', '_' and '-'; stacks: ${knownStacks(root).join(", ") || "none"})`,
    );
  }
  if (stackFile !== undefined) {
    const link = fs.lstatSync(stackFile, { throwIfNoEntry: false });
    if (!link) throw new StackFileError(`--stack-file ${stackFile}: no such file`);
    const problem = notRegularFile(stackFile);
    if (problem) throw new StackFileError(`--stack-file ${stackFile}: ${problem}`);
    return path.resolve(stackFile);
  }
  const file = path.join(stackDir(root), `Pulumi.${stack}.yaml`);
  if (!fs.lstatSync(file, { throwIfNoEntry: false })) {
    throw new StackFileError(`--stack ${stack}: no stack file ${showPath(file)} (stacks: ${knownStacks(root).join(", ") || "none"})`);
  }
  const problem = notRegularFile(file);
  if (problem) throw new StackFileError(`--stack ${stack}: the stack file ${showPath(file)} ${problem}`);
  return file;
}

/** Why an existing path cannot be read as a stack file (reading a FIFO blocks forever), or undefined. */
function notRegularFile(file: string): string | undefined {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return `is a dangling symlink (to ${fs.readlinkSync(file)}, which does not exist)`;
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return "is not a file";
  return `is ${stat.isFIFO() ? "a FIFO" : stat.isSocket() ? "a socket" : "a device"}, not a regular file`;
}

function stackDir(root: string): string {
  return path.join(root, readProjectFile(root).stackConfigDir ?? ".");
}

function knownStacks(root: string): string[] {
  const dir = stackDir(root);
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
        .map((f) => f.slice(7, -5))
        .sort()
    : [];
}

/**
 * Reads config the way the Pulumi CLI does: project-level defaults from Pulumi.yaml, then the stack's
 * `stacks/Pulumi.<stack>.yaml` on top. `secure:` values cannot be decrypted offline, so each becomes a
 * placeholder that is still marked secret. The shape of the file (a mapping with a `config:` mapping) is
 * checked here; the keys under `config:` are checked by infra/config, as under `pulumi up`.
 */
export function loadStackConfig(stack: string, options: { root?: string; stackFile?: string } = {}): StackConfig {
  const root = options.root ?? PROJECT_ROOT;
  const projectFile = readProjectFile(root);
  const stackFile = stackFilePath(stack, options.stackFile, root);
  const shown = showPath(stackFile);
  let stackDoc: unknown;
  try {
    stackDoc = parse(fs.readFileSync(stackFile, "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code && e.syscall) throw new StackFileError(`${shown}: cannot read: ${e.code}`);
    throw new StackFileError(`${shown} is not valid YAML: ${e.message.split("\n")[0]}`);
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, decl] of Object.entries(projectFile.config ?? {})) {
    const value = decl?.value ?? decl?.default;
    if (value !== undefined) config[qualify(projectFile.name, key)] = encode(value);
  }
  for (const [key, value] of Object.entries(stackConfigSection(stackDoc, shown))) {
    const full = qualify(projectFile.name, key);
    if (value && typeof value === "object" && "secure" in (value as object)) {
      config[full] = `<secret ${key} from pulumi config>`;
      secretKeys.push(full);
    } else {
      config[full] = encode(value);
    }
  }
  return { project: projectFile.name, stack, file: stackFile, config, secretKeys };
}

/** The `config:` mapping of a parsed stack file, or a StackFileError saying what is wrong with the file's shape. */
function stackConfigSection(doc: unknown, shown: string): Record<string, unknown> {
  const needs = "a stack file needs a `config:` section with at least classroom:environment";
  if (doc === null || doc === undefined) throw new StackFileError(`${shown} is empty; ${needs}`);
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new StackFileError(`${shown}: the top level must be a mapping with a \`config:\` section, got ${kindOf(doc)}`);
  }
  const keys = Object.keys(doc);
  const unknown = keys.filter((k) => !STACK_FILE_KEYS.includes(k));
  if (unknown.length) {
    const hints = unknown.map((k) => {
      const near = closest(k, STACK_FILE_KEYS);
      return `'${k}'${near ? ` (did you mean '${near}'?)` : ""}`;
    });
    throw new StackFileError(`${shown}: unknown top-level key ${hints.join(", ")}; a stack file has ${STACK_FILE_KEYS.join(", ")}`);
  }
  const section = (doc as Record<string, unknown>).config;
  if (section === undefined) throw new StackFileError(`${shown} has no \`config:\` section; ${needs}`);
  if (section === null) return {};
  if (typeof section !== "object" || Array.isArray(section)) {
    throw new StackFileError(`${shown}: \`config:\` must be a mapping of keys such as classroom:environment, got ${kindOf(section)}`);
  }
  return section as Record<string, unknown>;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  return `a ${typeof value}`;
}

function qualify(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
