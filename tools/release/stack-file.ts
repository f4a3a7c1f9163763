import * as fs from "node:fs";
import * as path from "node:path";
import { Document, isMap, isScalar, Pair, parse, parseDocument, stringify, YAMLError, YAMLMap } from "yaml";
import { namespaceProblem } from "../../infra/config";
import { deepEqual, PROJECT_ROOT } from "../synth";
import { ReleaseError } from "./errors";

/** Default folder of the stack files (Pulumi.yaml's stackConfigDir). */
export const DEFAULT_STACKS_DIR = path.join(PROJECT_ROOT, "stacks");

const SERVICES_KEY = "classroom:services";

/** Stack names as Pulumi accepts them; anything else (a `/`, `..`) would point outside the stacks folder. */
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

/** `<stacksDir>/Pulumi.<stack>.yaml`, or a one-line error naming the folder or the file and the stacks that exist. */
export function stackFilePath(stacksDir: string, stack: string): string {
  if (!STACK_NAME.test(stack) || stack === "." || stack === "..")
    throw new ReleaseError(`stack name '${stack}' is not valid: letters, digits, '-', '_' and '.' only`);
  let dir: fs.Stats;
  try {
    dir = fs.statSync(stacksDir);
  } catch {
    throw new ReleaseError(`--stacks-dir ${stacksDir} does not exist`);
  }
  if (!dir.isDirectory()) throw new ReleaseError(`--stacks-dir ${stacksDir} is not a folder`);
  const file = path.join(stacksDir, `Pulumi.${stack}.yaml`);
  const kind = stackFileKind(file);
  if (kind === "file") return file;
  if (kind !== "missing") throw new ReleaseError(`stack file ${file} ${kind}; nothing read`);
  const known = fs
    .readdirSync(stacksDir)
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .map((f) => f.slice(7, -5))
    .sort();
  throw new ReleaseError(
    `stack '${stack}' is unknown: no ${file} (${known.length ? `stacks: ${known.join(", ")}` : `no Pulumi.<stack>.yaml in ${stacksDir}`})`,
  );
}

/** The file given with --stack-file, or a one-line error naming it. */
export function explicitStackFile(file: string): string {
  const kind = stackFileKind(file);
  if (kind === "missing") throw new ReleaseError(`--stack-file ${file} does not exist`);
  if (kind === "is a folder") throw new ReleaseError(`--stack-file ${file} is not a file`);
  if (kind !== "file") throw new ReleaseError(`--stack-file ${file} ${kind}; nothing read`);
  return file;
}

/**
 * "file" for a regular file (or a symlink to one), "missing", or why the path cannot be a stack file.
 * Reading a FIFO or a device would block forever, and a dangling symlink is not a missing stack.
 */
export function stackFileKind(file: string): string {
  const link = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!link) return "missing";
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return `is a dangling symlink (to ${fs.readlinkSync(file)}, which does not exist)`;
  if (stat.isFile()) return "file";
  if (stat.isDirectory()) return "is a folder";
  const what = stat.isFIFO() ? "a FIFO" : stat.isSocket() ? "a socket" : stat.isCharacterDevice() || stat.isBlockDevice() ? "a device" : "not a file";
  return `is ${what}, not a regular file`;
}

/** The canary track entry; `step` is written by `release ... run`, `match` by hand. */
export interface CanaryEntry {
  image: string;
  replicas: number;
  weight: number;
  step?: number;
  match?: Array<{ header?: string; cookie?: string; query?: string; value: string }>;
}

/** A service's release-relevant entries as the stack file spells them (before schema defaults). */
export interface ServiceEntries {
  kind?: string;
  stable?: { image: string; replicas: number };
  canary?: CanaryEntry;
  legacy?: { endpoints: string[]; weight: number };
  autoscaling?: { minReplicas: number; maxReplicas: number };
  history?: Array<{ image: string; promotedAt?: string }>;
}

/** New values for a service's `stable`, `canary` and `history` entries; `null` removes the entry. */
export interface ServicePatch {
  stable?: { image: string; replicas: number };
  canary?: CanaryEntry | null;
  history?: Array<{ image: string; promotedAt?: string }> | null;
}

/**
 * One stack file, edited in place as text: only the entries a release touches are rewritten, every other
 * byte (comments, order, spacing inside flow mappings) stays as it was. The yaml Document API finds the
 * entries and their exact source ranges; re-serializing the whole document would normalise the spacing
 * of every `{ ... }` and `[...]` in the file.
 */
export class StackFile {
  readonly text: string;
  private readonly doc: Document.Parsed;

  constructor(
    readonly file: string,
    text?: string,
  ) {
    this.text = text ?? readStackFile(file);
    this.doc = parseDocument(this.text);
    const error = this.doc.errors[0];
    if (error) throw new ReleaseError(`${this.file}${position(error)} is not valid YAML: ${yamlProblem(error, this.text)}${conflictMarkers(this.text)}`);
    if (!isMap(this.doc.contents)) throw new ReleaseError(`${this.file} is not a stack file: its top level must be a mapping with a \`config:\` key`);
    if (!this.doc.has("config")) throw new ReleaseError(`${this.file} has no \`config:\` key (a stack file keeps its settings under \`config:\`)`);
  }

  /** The file's line break: an edit adds lines with the same one (a CRLF file must not get LF-only lines). */
  private get eol(): string {
    return /\r\n/.test(this.text) ? "\r\n" : "\n";
  }

  /** `classroom:environment` as the file spells it, if it is a string. */
  environment(): string | undefined {
    const value = this.doc.getIn(["config", "classroom:environment"]);
    return typeof value === "string" ? value : undefined;
  }

  /** The `classroom:services` mapping node, or a one-line error. */
  private servicesNode(): YAMLMap {
    const node = this.doc.getIn(["config", SERVICES_KEY], true);
    if (!isMap(node)) {
      // A misspelled namespace is the usual reason, and synth's check names it with the key meant.
      const config = this.doc.get("config", true);
      const keys = isMap(config) ? config.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
      const misspelled = keys.map(namespaceProblem).filter((p): p is string => !!p && p.endsWith(`did you mean ${SERVICES_KEY}?`));
      throw new ReleaseError(
        `${this.file} declares no services (config.${SERVICES_KEY} is missing or not a mapping)${misspelled.length ? `: ${misspelled[0]}` : ""}`,
      );
    }
    return node;
  }

  /** Declared service names, in file order. */
  serviceNames(): string[] {
    return this.servicesNode().items.map((p) => String(isScalar(p.key) ? p.key.value : p.key));
  }

  /** The service's entries, or a one-line error naming the known services. */
  service(name: string): ServiceEntries {
    const names = this.serviceNames();
    if (!names.includes(name)) throw new ReleaseError(`service '${name}' is unknown in ${this.file} (services: ${names.join(", ") || "none"})`);
    const entries = this.doc.getIn(["config", SERVICES_KEY, name], true);
    if (!isMap(entries)) throw new ReleaseError(`${this.file}: config.${SERVICES_KEY}.${name} must be a mapping (kind, stable, canary, ...)`);
    return entries.toJSON() as ServiceEntries;
  }

  /** The file's text with `patch` applied to one service; checks that the result parses to exactly the intended values. */
  withServicePatch(name: string, patch: ServicePatch): string {
    const services = this.servicesNode();
    const servicePair = services.items.find((p) => isScalar(p.key) && p.key.value === name);
    if (!servicePair || !isMap(servicePair.value))
      throw new ReleaseError(`service '${name}' is unknown or not a mapping in ${path.basename(this.file)} (services: ${this.serviceNames().join(", ")})`);
    const serviceMap = servicePair.value;
    // Edits are applied back to front so earlier offsets stay valid.
    const edits: Array<{ start: number; end: number; text: string }> = [];
    const order: Array<keyof ServicePatch> = ["stable", "canary", "history"];
    for (const key of order) {
      if (!(key in patch)) continue;
      const value = patch[key];
      const existing = serviceMap.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<any, any> | undefined;
      if (value === null || value === undefined) {
        if (existing) edits.push(this.removal(existing));
        continue;
      }
      const valueText =
        key === "history" ? blockListOfFlowMaps(value as object[], this.indentOf(serviceMap) + 2, this.eol) : ` ${flowMap(value as Record<string, unknown>)}`;
      if (existing) edits.push(this.replacement(existing, key, valueText));
      else edits.push(this.insertion(serviceMap, key, valueText, key === "canary" ? "stable" : undefined));
    }
    let text = this.text;
    for (const e of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, e.start) + e.text + text.slice(e.end);
    this.checkEdit(text, name, patch);
    return text;
  }

  /** A top-level `config:` string value such as `classroom:runtimeImage`, if the file sets one. */
  configString(key: string): string | undefined {
    const value = this.doc.getIn(["config", key]);
    return typeof value === "string" ? value : undefined;
  }

  /**
   * The file's text with one top-level config key set to a string (replaced in place, or added after
   * `classroom:environment`); checks that the result parses to the original with exactly that change.
   */
  withConfigString(key: string, value: string): string {
    const config = this.doc.get("config", true);
    if (!isMap(config)) throw new ReleaseError(`${this.file}: \`config:\` must be a mapping`);
    const existing = config.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<any, any> | undefined;
    const valueText = ` ${scalar(key, value)}`;
    const edit = existing ? this.replacement(existing, key, valueText) : this.insertion(config, key, valueText, "classroom:environment");
    const text = this.text.slice(0, edit.start) + edit.text + this.text.slice(edit.end);
    const expected = parse(this.text) as { config: Record<string, unknown> };
    expected.config[key] = value;
    let actual: unknown;
    try {
      actual = parse(text);
    } catch (err) {
      actual = err;
    }
    if (!deepEqual(JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)))) {
      throw new Error(`internal error: setting ${key} in ${this.file} did not produce the intended content; file left unchanged`);
    }
    return text;
  }

  /** Column of the mapping's keys. */
  private indentOf(map: YAMLMap): number {
    const first = map.items[0]?.key as { range?: [number, number, number] } | undefined;
    const start = first?.range?.[0] ?? 0;
    return start - (this.text.lastIndexOf("\n", start - 1) + 1);
  }

  /** End of a pair's value, without the trailing line break a block value's range includes. */
  private valueEnd(pair: Pair<any, any>): number {
    let end: number = pair.value?.range?.[1] ?? pair.key.range[1];
    while (end > 0 && /\s/.test(this.text[end - 1])) end--;
    return end;
  }

  private replacement(pair: Pair<any, any>, key: string, valueText: string) {
    return { start: pair.key.range[0] as number, end: this.valueEnd(pair), text: `${key}:${valueText}` };
  }

  /** New `key: value` line after `after` (or after the mapping's last entry), with the mapping's indentation. */
  private insertion(map: YAMLMap, key: string, valueText: string, after?: string) {
    const anchor = (map.items.find((p) => isScalar(p.key) && p.key.value === after) ?? map.items[map.items.length - 1]) as Pair<any, any>;
    const lineEnd = this.lineEnd(this.valueEnd(anchor));
    return { start: lineEnd, end: lineEnd, text: `${this.eol}${" ".repeat(this.indentOf(map))}${key}:${valueText}` };
  }

  /** Deletes the entry's lines, from its key's line start through the end of its value's last line. */
  private removal(pair: Pair<any, any>) {
    const lf = this.text.lastIndexOf("\n", pair.key.range[0] - 1);
    const start = lf > 0 && this.text[lf - 1] === "\r" ? lf - 1 : lf;
    return { start, end: this.lineEnd(this.valueEnd(pair)), text: "" };
  }

  /** Offset of the line break ending the line that holds `offset` (text length if none). */
  private lineEnd(offset: number): number {
    const i = this.text.indexOf("\n", offset);
    if (i === -1) return this.text.length;
    // A CRLF line ends before its \r, so that what is inserted there carries the file's own line break.
    return i > 0 && this.text[i - 1] === "\r" ? i - 1 : i;
  }

  /** Guards the text surgery: the edited file must parse to the original with exactly the patch applied. */
  private checkEdit(text: string, name: string, patch: ServicePatch): void {
    const expected = parse(this.text) as { config: Record<string, any> };
    const service = expected.config[SERVICES_KEY][name];
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete service[key];
      else if (value !== undefined) service[key] = value;
    }
    let actual: unknown;
    try {
      actual = parse(text);
    } catch (err) {
      actual = err;
    }
    if (!deepEqual(JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)))) {
      throw new Error(`internal error: editing ${this.file} for service ${name} did not produce the intended content; file left unchanged`);
    }
  }
}

/** A file relative to the working directory when inside it, absolute otherwise. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") ? relative : file;
}

/** `{ image: x, replicas: 1 }` in the stack files' own spacing; strings quoted only when YAML needs it. */
export function flowMap(value: Record<string, unknown>): string {
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${scalar(k, v)}`);
  return `{ ${entries.join(", ")} }`;
}

function blockListOfFlowMaps(items: object[], indent: number, eol: string): string {
  return items.map((item) => `${eol}${" ".repeat(indent)}- ${flowMap(item as Record<string, unknown>)}`).join("");
}

function scalar(key: string, value: unknown): string {
  // Timestamps are quoted so that no YAML reader takes them for a date type.
  if (key === "promotedAt" && typeof value === "string") return JSON.stringify(value);
  // Lists and mappings inside a flow mapping (canary.match) must themselves be in flow style.
  const text = stringify(value, { lineWidth: 0, collectionStyle: typeof value === "object" && value !== null ? "flow" : "any" }).trimEnd();
  // Flow context forbids some plain scalars that block context allows (a `,` or `{`, for example).
  return typeof value === "string" && /[,[\]{}]/.test(value) && !/^["']/.test(text) ? JSON.stringify(value) : text;
}

/** The file's text, or a one-line error when it cannot be read. */
function readStackFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ReleaseError(code === "EACCES" ? `${file} is not readable (permission denied)` : `${file} cannot be read (${code ?? (err as Error).message})`);
  }
}

/** `:line:column` of a parse error. */
function position(error: YAMLError): string {
  return error.linePos ? `:${error.linePos[0].line}:${error.linePos[0].col}` : "";
}

function yamlProblem(error: YAMLError, text: string): string {
  if (error.code === "DUPLICATE_KEY") {
    const key = text
      .slice(error.pos[0])
      .match(/^[^:\n]*/)?.[0]
      .trim();
    return `key '${key}' appears twice in the same mapping (a leftover of a merge?)`;
  }
  return error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/** Names git's conflict markers when the file still holds them: the usual cause of a broken stack file. */
function conflictMarkers(text: string): string {
  const line = text.split("\n").findIndex((l) => /^(<{7}|={7}|>{7})( |$)/.test(l));
  return line === -1 ? "" : ` (line ${line + 1} is a merge-conflict marker: resolve the conflict first)`;
}
