// Builders that turn a pure check over Kubernetes objects into a CrossGuard policy. The same policy objects
// are served by the PolicyPack (policies/index.ts) and run in-process by policies/evaluate.ts for synth,
// so there is exactly one implementation of every rule.
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { asString, KubeObject, toKube } from "./k8s";

/** One config property: its JSON schema (checked by the Pulumi CLI and by evaluate.ts) and its default. */
export type ConfigProperty<T> = PolicyConfigJSONSchema & { default: T; description: string };
/** The config properties of a rule, typed by the config object the check receives. */
export type ConfigSpec<C> = { [K in keyof C]: ConfigProperty<C[K]> };

/** An object of the stack as stack rules see it: the Kubernetes view plus the URN to report against. */
export interface StackObject extends KubeObject {
  urn: string;
}

interface RuleBase<C> {
  /** Kebab-case policy name (what config files and reports use). */
  name: string;
  /** One sentence: what the rule requires and why. */
  description: string;
  /** Level when no config file says otherwise. */
  enforcementLevel: EnforcementLevel;
  /** Configurable properties with defaults (omit for rules without settings). */
  config?: ConfigSpec<C>;
}

export interface ResourceRule<C> extends RuleBase<C> {
  /** Kinds the rule looks at (omit for every Kubernetes object). */
  kinds?: string[];
  /** Reports each problem of one object; must not throw on partial or unknown values. */
  check(obj: KubeObject, config: C, report: (message: string) => void): void;
}

export interface StackRule<C> extends RuleBase<C> {
  /** Reports problems across objects; `obj` is the object to attach the violation to. */
  check(objects: StackObject[], config: C, report: (obj: StackObject | undefined, message: string) => void): void;
}

/** CrossGuard wraps props in a proxy that throws on unknowns; rules read the raw values and skip unknowns. */
const PROXY_TARGET = "__getSpecialProxyTarget";
function unwrap(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  return (v as Record<string, unknown>)[PROXY_TARGET] ?? v;
}

function providerNamespace(provider: { props: Record<string, unknown> } | undefined): string | undefined {
  const props = unwrap(provider?.props) as Record<string, unknown> | undefined;
  return asString(props?.namespace) || undefined;
}

function configSchema<C>(spec: ConfigSpec<C> | undefined): PolicyConfigSchema | undefined {
  if (!spec) return undefined;
  return { properties: spec as unknown as Record<string, PolicyConfigJSONSchema> };
}

/** The rule's config: schema defaults overlaid with what the config file set (the CLI does the same). */
export function configWithDefaults<C>(spec: ConfigSpec<C> | undefined, given: object): C {
  const defaults: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(spec ?? {})) defaults[key] = (prop as ConfigProperty<unknown>).default;
  return { ...defaults, ...given } as C;
}

export function resourceRule<C = Record<string, never>>(rule: ResourceRule<C>): ResourceValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    configSchema: configSchema(rule.config),
    validateResource: (args: ResourceValidationArgs, reportViolation) => {
      const obj = toKube(args.type, unwrap(args.props), providerNamespace(args.provider));
      if (!obj || (rule.kinds && !rule.kinds.includes(obj.kind))) return;
      const config = configWithDefaults(rule.config, args.getConfig());
      rule.check(obj, config, (message) => reportViolation(message));
    },
  };
}

export function stackRule<C = Record<string, never>>(rule: StackRule<C>): StackValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    configSchema: configSchema(rule.config),
    validateStack: (args: StackValidationArgs, reportViolation) => {
      const objects: StackObject[] = [];
      for (const r of args.resources as PolicyResource[]) {
        const obj = toKube(r.type, unwrap(r.props), providerNamespace(r.provider));
        if (obj) objects.push({ ...obj, urn: r.urn });
      }
      const config = configWithDefaults(rule.config, args.getConfig());
      rule.check(objects, config, (obj, message) => reportViolation(message, obj?.urn));
    },
  };
}
