// Policy pack config files (policies/config/<stack>.json), read and reconciled exactly as the Pulumi CLI
// does for `--policy-pack-config`: schema defaults, then "all", then per-policy levels and settings.
// Unlike the CLI, unknown policy names and settings are errors here: a typo must not turn a rule off quietly.
import * as fs from "node:fs";
import * as path from "node:path";
import type { EnforcementLevel, Policies, PolicyPackConfig } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

export type PolicyConfig = PolicyPackConfig;

/** Where the per-stack config files live. */
export const POLICY_CONFIG_DIR = path.join(__dirname, "config");

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** A config file or object that does not fit the pack; `problems` has one line per mistake. */
export class PolicyConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem(s) in policy config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PolicyConfigError";
  }
}

/** One policy's effective configuration. */
export interface ResolvedPolicyConfig {
  enforcementLevel: EnforcementLevel;
  /** Settings after defaults: what `args.getConfig()` returns. */
  properties: Record<string, unknown>;
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The subset of JSON schema the pack's settings use: type, items, additionalProperties, minimum, pattern, enum. */
function checkValue(schema: PolicyConfigJSONSchema, value: unknown, where: string, problems: string[]): void {
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const actual = typeOf(value);
  if (types.length && !types.some((t) => t === actual || (t === "number" && actual === "integer"))) {
    problems.push(`${where} must be ${types.join(" or ")}, got ${JSON.stringify(value)}`);
    return;
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    problems.push(`${where} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) {
    problems.push(`${where} must be >= ${schema.minimum}, got ${value}`);
  }
  if (typeof value === "string" && schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
    problems.push(`${where} must match ${schema.pattern}, got ${JSON.stringify(value)}`);
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === "object" && !Array.isArray(schema.items)) {
    value.forEach((item, i) => checkValue(schema.items as PolicyConfigJSONSchema, item, `${where}[${i}]`, problems));
  }
  if (actual === "object" && typeof schema.additionalProperties === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      checkValue(schema.additionalProperties, v, `${where}.${k}`, problems);
    }
  }
}

function checkLevel(level: unknown, where: string, problems: string[]): level is EnforcementLevel {
  if (LEVELS.includes(level as EnforcementLevel)) return true;
  problems.push(`${where} must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(level)}`);
  return false;
}

/**
 * Every policy's effective level and settings under `config`, the way the Pulumi CLI reconciles a
 * `--policy-pack-config` file. Throws PolicyConfigError naming every unknown policy, setting or bad value.
 */
export function resolvePolicyConfig(config: unknown, policies: Policies, source = "policy config"): Map<string, ResolvedPolicyConfig> {
  const problems: string[] = [];
  const byName = new Map(policies.map((p) => [p.name, p]));
  const result = new Map<string, ResolvedPolicyConfig>();
  for (const p of policies) {
    const properties: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(p.configSchema?.properties ?? {})) {
      if (typeof s === "object" && s.default !== undefined) properties[k] = s.default;
    }
    result.set(p.name, { enforcementLevel: p.enforcementLevel ?? "advisory", properties });
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new PolicyConfigError(source, [`the config must be a JSON object of policy names, got ${typeOf(config)}`]);
  }
  const entries = Object.entries(config as Record<string, unknown>);
  const all = (config as Record<string, unknown>).all;
  if (all !== undefined) {
    const level = typeof all === "object" && all !== null ? (all as Record<string, unknown>).enforcementLevel : all;
    if (typeof all === "object" && all !== null && Object.keys(all).some((k) => k !== "enforcementLevel")) {
      problems.push(`"all" may only set enforcementLevel`);
    }
    if (checkLevel(level, `"all"`, problems)) for (const r of result.values()) r.enforcementLevel = level;
  }
  for (const [name, value] of entries) {
    if (name === "all") continue;
    const policy = byName.get(name);
    if (!policy) {
      problems.push(`unknown policy "${name}"; the pack has: ${[...byName.keys()].sort().join(", ")}`);
      continue;
    }
    const target = result.get(name)!;
    if (typeof value === "string") {
      if (checkLevel(value, `"${name}"`, problems)) target.enforcementLevel = value;
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push(`"${name}" must be an enforcement level or an object, got ${JSON.stringify(value)}`);
      continue;
    }
    const schema = policy.configSchema?.properties ?? {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key === "enforcementLevel") {
        if (checkLevel(v, `"${name}".enforcementLevel`, problems)) target.enforcementLevel = v;
        continue;
      }
      const s = schema[key];
      if (!s || typeof s !== "object") {
        const known = Object.keys(schema);
        problems.push(`"${name}" has no setting "${key}"; ${known.length ? `settings: ${known.join(", ")}` : "it takes none"}`);
        continue;
      }
      checkValue(s, v, `"${name}".${key}`, problems);
      target.properties[key] = v;
    }
  }
  if (problems.length) throw new PolicyConfigError(source, problems);
  return result;
}

/** Stacks that have a config file, from the file names in `dir`. */
export function policyConfigNames(dir = POLICY_CONFIG_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Reads policies/config/<stack>.json (validate it with resolvePolicyConfig). Throws PolicyConfigError when missing or not JSON. */
export function loadPolicyConfig(stack: string, dir = POLICY_CONFIG_DIR): PolicyConfig {
  const file = path.join(dir, `${stack}.json`);
  const shown = path.relative(process.cwd(), file) || file;
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(file)) {
    throw new PolicyConfigError(shown, [`no policy config for stack "${stack}"; stacks with one: ${policyConfigNames(dir).join(", ")}`]);
  }
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PolicyConfig;
  } catch (e) {
    throw new PolicyConfigError(shown, [`not valid JSON: ${(e as Error).message}`]);
  }
}
