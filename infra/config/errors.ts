import { z } from "zod";
import { inputJsonSchema, jsonSchemaAt } from "./json-schema";
import { closest } from "./suggest";

/** Bad stack configuration: one line per problem, each naming the key path, what is allowed and what was given. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** `classroom:zookeeper.replicas must be an odd number >= 1, got 2` */
export function formatIssues(namespace: string, issues: z.core.$ZodIssue[], schema: z.ZodType): string[] {
  const lines = issues.flatMap((issue) => formatIssue(namespace, issue, schema));
  return [...new Set(lines)];
}

function formatIssue(namespace: string, issue: z.core.$ZodIssue, schema: z.ZodType): string[] {
  const where = keyPath(namespace, issue.path);
  const got = "input" in issue && issue.input !== undefined ? `, got ${show(issue.input)}` : "";
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(schema, issue.path);
      return issue.keys.map((key) => {
        const near = allowed && closest(key, allowed);
        return `${keyPath(namespace, [...issue.path, key])} is not a known key${near ? `; did you mean ${near}?` : ""}${allowed ? ` (allowed: ${allowed.join(", ")})` : ""}`;
      });
    }
    case "invalid_type":
      if (issue.input === undefined) return [`${where} is required (${expected(issue.expected)})`];
      return [`${where} ${issue.message.startsWith("must") ? issue.message : `must be ${expected(issue.expected)}`}${got}`];
    case "invalid_union":
      return [`${where} does not match any allowed form${got}`];
    case "too_small":
    case "too_big":
      // zod's own text ("Too small: expected number to be >=10") is replaced; ours ("must be ...") is kept.
      if (/^must\b/.test(issue.message)) return [`${where} ${issue.message}${got}`];
      return [`${where} ${bound(issue)}${got}`];
    case "invalid_value":
      if (/^must\b/.test(issue.message)) return [`${where} ${issue.message}${got}`];
      return [`${where} must be one of ${issue.values.map((v) => String(v)).join(", ")}${got}`];
    case "invalid_key":
      return [`${where} is not a valid name: ${issue.issues.map((i) => (/^(must|is)\b/.test(i.message) ? i.message : "must be a plain name")).join("; ")}`];
    default: {
      // Our own messages are predicates ("must be …", "is only for …", "names unknown …"); a library's
      // message is quoted after "is invalid:". A message that already shows the value gets no second "got".
      const predicate = /^(must|is|names|plus|max|cannot)\b/.test(issue.message);
      const text = predicate ? issue.message : `is invalid: ${issue.message}`;
      return [`${where} ${text}${/\bgot\b|'.*'/.test(issue.message) ? "" : got}`];
    }
  }
}

/** `classroom:services.room-api.canary.weight` from `classroom` and `["services","room-api","canary","weight"]`. */
export function keyPath(namespace: string, path: PropertyKey[]): string {
  if (path.length === 0) return `${namespace}:<root>`;
  const [head, ...rest] = path;
  return `${namespace}:${String(head)}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`;
}

/** `must be >= 10`, `must have at least 1 character`, `must list at most 3 items`. */
function bound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === "too_small";
  const limit = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const inclusive = issue.inclusive !== false;
  const n = Number(limit);
  switch (issue.origin) {
    case "string":
      return `must have ${small ? "at least" : "at most"} ${n} character${n === 1 ? "" : "s"}`;
    case "array":
    case "set":
      return `must list ${small ? "at least" : "at most"} ${n} item${n === 1 ? "" : "s"}`;
    default:
      return `must be ${small ? (inclusive ? ">=" : ">") : inclusive ? "<=" : "<"} ${String(limit)}`;
  }
}

function expected(type: string): string {
  const words: Record<string, string> = {
    number: "a number",
    string: "a string",
    boolean: "true or false",
    object: "a mapping of keys to values",
    record: "a mapping of names to values",
    map: "a mapping of names to values",
    array: "a list",
    int: "a whole number",
  };
  return words[type] ?? type;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The keys an object at `path` accepts, read from the schema's JSON Schema. */
function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] | undefined {
  const node = jsonSchemaAt(inputJsonSchema(schema), path);
  return node?.properties ? Object.keys(node.properties) : undefined;
}
