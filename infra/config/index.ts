import { ConfigError, formatIssues } from "./errors";
import { ParsedPlatformConfig, platformConfigSchema } from "./schema";
import { inputJsonSchema } from "./json-schema";
import { closest } from "./suggest";

export { ConfigError } from "./errors";
export type { RoutingConfig, ServiceConfig, TrackConfig } from "./services";
export type { KafkaConfig, MySqlConfig, MySqlUserConfig, RedisConfig, ZooKeeperConfig } from "./data";
export type { ResourcesConfig, SpreadConfig, StorageConfig, WorkloadConfig } from "./primitives";

export const CONFIG_NAMESPACE = "classroom";
/**
 * Namespaces whose keys someone reads: ours, the Pulumi engine's (`pulumi:disable-default-providers`,
 * `pulumi:tags`, ...) and those of the providers the program uses (`kubernetes:` for the default
 * provider and `pulumi config` users, `random:`). A key in any other namespace is read by nobody, so
 * it is almost always a typo of `classroom:` that would silently drop its whole section.
 */
export const KNOWN_NAMESPACES = [CONFIG_NAMESPACE, "kubernetes", "pulumi", "random"] as const;
/**
 * `kubernetes:` keys only configure Pulumi's default Kubernetes provider, which no platform resource uses
 * (infra/platform.ts creates its own). These are the ones a user sets expecting an effect.
 */
const SHADOWED_PROVIDER_KEYS: Record<string, string> = {
  "kubernetes:context": "set classroom:kubeContext instead",
  "kubernetes:renderYamlToDirectory": "set classroom:renderYamlToDirectory instead",
  "kubernetes:kubeconfig": "set KUBECONFIG in the environment instead",
  "kubernetes:namespace": "the platform names its namespaces from classroom:namespacePrefix",
};
/** Keys whose values are credentials: accepted only as Pulumi secrets. */
const SECRET_KEYS = ["imagePullSecret"];

/** The platform's whole configuration, parsed and with every default and derived name filled in. */
export interface PlatformConfig extends ParsedPlatformConfig {
  namespaces: { data: string; apps: string };
}

/**
 * Parses the raw stack configuration (`namespace:key` -> string, as Pulumi hands it to a program) into
 * the typed config, or throws a ConfigError listing every problem. Keys of the other known namespaces
 * (`kubernetes:`, `pulumi:`, `random:`) are not ours and are left to their readers; a key of any other
 * namespace is an error. This runs inside the program, so it guards `pulumi up` as much as synth.
 */
export function parsePlatformConfig(raw: Record<string, string>, secretKeys: readonly string[] = []): PlatformConfig {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  const ours = new Set(
    Object.keys(raw)
      .map(splitKey)
      .filter(([ns]) => ns === CONFIG_NAMESPACE)
      .map(([, key]) => key),
  );
  for (const [fullKey, value] of Object.entries(raw)) {
    const [ns, key] = splitKey(fullKey);
    if (ns !== CONFIG_NAMESPACE) {
      const shadowed = SHADOWED_PROVIDER_KEYS[`${ns}:${key}`];
      if (shadowed) problems.push(`${ns}:${key} is not read: every platform resource uses the Kubernetes provider infra/platform.ts configures; ${shadowed}`);
      if ((KNOWN_NAMESPACES as readonly string[]).includes(ns)) continue;
      problems.push(unknownNamespace(ns, key));
      // A misspelled `classroom:` is still validated as what it was meant to be, so its own mistakes are
      // reported in the same run and keys that refer to it (a job naming a service) are not blamed.
      if (closest(ns, KNOWN_NAMESPACES) !== CONFIG_NAMESPACE || ours.has(key)) continue;
    }
    if (SECRET_KEYS.includes(key) && !secretKeys.includes(fullKey)) {
      problems.push(
        `${CONFIG_NAMESPACE}:${key} is a credential and must be set with \`pulumi config set --secret ${CONFIG_NAMESPACE}:${key}\`, got a plain-text value`,
      );
    }
    input[key] = isStructured(key) ? decode(value) : value;
  }
  // A misspelled top-level key is reported as unknown and also validated as the key it was meant to
  // be, so its content is checked in the same run and keys that refer to it are not blamed instead.
  const known = topLevelKeys();
  for (const key of Object.keys(input)) {
    const near = known.includes(key) ? undefined : closest(key, known);
    if (near && !(near in input)) input[near] = input[key];
  }
  const result = platformConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) problems.push(...formatIssues(CONFIG_NAMESPACE, result.error.issues, platformConfigSchema));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const config = result.data;
  const prefix = config.namespacePrefix ?? `classroom-${config.environment}`;
  return { ...config, namespaces: { data: `${prefix}-data`, apps: `${prefix}-apps` } };
}

/**
 * The problem with a stack-file key's namespace (`clasroom:services`: nothing reads it, did you mean
 * classroom:services?), or undefined for a namespace something reads. Shared with the release CLI, which
 * reads the file's services itself and must name the misspelling rather than call them missing.
 */
export function namespaceProblem(fullKey: string): string | undefined {
  if (!fullKey.includes(":")) return undefined;
  const [ns, key] = splitKey(fullKey);
  return (KNOWN_NAMESPACES as readonly string[]).includes(ns) ? undefined : unknownNamespace(ns, key);
}

function unknownNamespace(ns: string, key: string): string {
  const near = closest(ns, KNOWN_NAMESPACES);
  const hint = near ? `; did you mean ${near}:${key}?` : "";
  return `${ns}:${key} is in namespace '${ns}', which nothing reads (known: ${KNOWN_NAMESPACES.join(", ")})${hint}`;
}

function splitKey(fullKey: string): [string, string] {
  const i = fullKey.indexOf(":");
  // `pulumi.runtime.allConfig()` uses `ns:key`; older engines passed `ns:config:key`.
  const rest = fullKey.slice(i + 1);
  return [fullKey.slice(0, i), rest.startsWith("config:") ? rest.slice("config:".length) : rest];
}

function topLevelKeys(): string[] {
  return Object.keys(platformConfigSchema.shape);
}

/** Whether the schema expects a mapping or list at this top-level key (scalars are never JSON-decoded: a credential may look like JSON). */
function isStructured(key: string): boolean {
  const node = inputJsonSchema(platformConfigSchema).properties?.[key];
  // An unknown key is decoded: it is reported anyway, and a misspelled section is validated as the one it meant.
  if (!node) return true;
  return [node, ...(node.anyOf ?? [])].some((n) => n.type === "object" || n.type === "array");
}

/** Pulumi passes structured values as JSON text and scalars as plain strings. */
function decode(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return value;
}
