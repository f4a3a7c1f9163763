// Runs the pack's rule objects in-process over rendered resources (synth, tests), calling their
// validateResource / validateStack with arguments shaped like CrossGuard's, so a verdict here is the
// verdict `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json` gives.
import {
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  unknownCheckingProxy,
  UnknownValueError,
} from "@pulumi/policy";
import { describe, toKube } from "./rules/k8s";
import { allRules } from "./rules";
import { PolicyConfig, resolvePolicyConfig } from "./policy-config";

export { loadPolicyConfig, policyConfigNames, PolicyConfigError, resolvePolicyConfig, POLICY_CONFIG_DIR } from "./policy-config";
export type { PolicyConfig, ResolvedPolicyConfig } from "./policy-config";

/** One rendered resource: what a Pulumi program registered (type token, logical name, inputs). */
export interface RenderedResource {
  /** Pulumi type token, e.g. `kubernetes:apps/v1:Deployment`. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  /** URN; synthesized from type and name when absent. */
  urn?: string;
  /** The resource's inputs: for Kubernetes, the object ({ apiVersion, kind, metadata, spec, ... }). */
  props: any;
}

export interface Violation {
  /** Policy (rule) name. */
  policy: string;
  /** Level after the config file: only advisory and mandatory violations are reported. */
  enforcementLevel: "advisory" | "mandatory";
  /** The object: `Kind namespace/name` (or `type name` for non-Kubernetes resources; `stack` for stack-wide). */
  resource: string;
  message: string;
  /** URN of the resource the violation is attached to, when there is one. */
  urn?: string;
}

class NotApplicable extends Error {}

const NO_OPTS = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function label(r: RenderedResource): string {
  const kube = toKube(r.type, r.props);
  return kube ? describe(kube) : `${r.type} ${r.name}`;
}

function isResourcePolicy(p: Policies[number]): p is ResourceValidationPolicy {
  return (p as ResourceValidationPolicy).validateResource !== undefined;
}

function settle(result: unknown, policy: string): void {
  if (result && typeof (result as Promise<void>).then === "function") {
    throw new Error(`policy ${policy} validates asynchronously; evaluatePolicies runs rules synchronously`);
  }
}

export interface EvaluateOptions {
  /** Run only these policies (by name); default: every policy of the pack. */
  only?: string[];
}

/**
 * Every violation of the pack's policies in `resources`, at the levels `config` sets
 * (the content of a policies/config/<stack>.json file). Disabled policies do not run. Values unknown
 * during preview never fail a rule; a rule that trips over one is reported as advisory, as CrossGuard does.
 * Throws PolicyConfigError when the config names unknown policies or settings.
 */
export function evaluatePolicies(resources: RenderedResource[], config: PolicyConfig, options: EvaluateOptions = {}): Violation[] {
  const resolved = resolvePolicyConfig(config, allRules);
  const unknown = (options.only ?? []).filter((name) => !resolved.has(name));
  if (unknown.length) throw new Error(`evaluatePolicies: unknown policy name(s) in "only": ${unknown.join(", ")}`);
  const policies = options.only ? allRules.filter((p) => options.only!.includes(p.name)) : allRules;
  const stack = resources.map((r) => ({ ...r, urn: r.urn ?? `urn:pulumi:synth::classroom-platform::${r.type}::${r.name}` }));
  const violations: Violation[] = [];
  for (const policy of policies) {
    const { enforcementLevel, properties } = resolved.get(policy.name)!;
    if (enforcementLevel === "disabled") continue;
    // As in CrossGuard: "remediate" cannot remediate a rendered object, so it blocks like "mandatory".
    const run: PolicyRun = { policy, level: enforcementLevel === "advisory" ? "advisory" : "mandatory", properties, violations };
    if (isResourcePolicy(policy)) runResourcePolicy(run, policy, stack);
    else runStackPolicy(run, policy as StackValidationPolicy, stack);
  }
  return violations;
}

interface PolicyRun {
  policy: Policies[number];
  level: Violation["enforcementLevel"];
  properties: Record<string, unknown>;
  violations: Violation[];
}

type Located = RenderedResource & { urn: string };

/** The argument fields CrossGuard gives resource and stack validations alike. */
function commonArgs(run: PolicyRun) {
  return {
    getConfig: <T extends object>() => ({ ...run.properties }) as T,
    stackTags: new Map<string, string>(),
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

/** What CrossGuard does with a validation that throws: not-applicable is silent, an unknown is advisory, the rest is a bug. */
function handleThrow(run: PolicyRun, e: unknown, resource: string, urn?: string): void {
  if (e instanceof NotApplicable) return;
  if (e instanceof UnknownValueError) {
    run.violations.push({ policy: run.policy.name, enforcementLevel: "advisory", resource, urn, message: `can't run during preview: ${(e as Error).message}` });
    return;
  }
  throw e;
}

function runResourcePolicy(run: PolicyRun, policy: ResourceValidationPolicy, stack: Located[]): void {
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  for (const r of stack) {
    const resource = label(r);
    const report: ReportViolation = (message) => run.violations.push({ policy: policy.name, enforcementLevel: run.level, resource, urn: r.urn, message });
    // isType/asType compare Pulumi resource classes; the pack's rules read `type` and `props` instead.
    const args: ResourceValidationArgs = {
      ...commonArgs(run),
      type: r.type,
      props: unknownCheckingProxy(r.props ?? {}),
      urn: r.urn,
      name: r.name,
      opts: NO_OPTS,
      isType: () => false,
      asType: () => undefined,
    };
    for (const validate of validations) {
      try {
        settle(validate(args, report), policy.name);
      } catch (e) {
        handleThrow(run, e, resource, r.urn);
      }
    }
  }
}

function runStackPolicy(run: PolicyRun, policy: StackValidationPolicy, stack: Located[]): void {
  const byUrn = new Map(stack.map((r) => [r.urn, r]));
  const resources: PolicyResource[] = stack.map((r) => ({
    type: r.type,
    props: unknownCheckingProxy(r.props ?? {}),
    urn: r.urn,
    name: r.name,
    opts: NO_OPTS,
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  }));
  const report: ReportViolation = (message, urn) => {
    const r = urn ? byUrn.get(urn) : undefined;
    run.violations.push({ policy: policy.name, enforcementLevel: run.level, resource: r ? label(r) : "stack", urn, message });
  };
  const args: StackValidationArgs = { ...commonArgs(run), resources };
  try {
    settle(policy.validateStack(args, report), policy.name);
  } catch (e) {
    handleThrow(run, e, "stack");
  }
}

/** The Pulumi type token the Kubernetes provider registers an object under (`kubernetes:apps/v1:Deployment`). */
export function kubernetesTypeToken(manifest: { apiVersion?: unknown; kind?: unknown }): string {
  const apiVersion = String(manifest.apiVersion ?? "");
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  return `kubernetes:${group}/${version}:${String(manifest.kind ?? "")}`;
}

/** Plain Kubernetes manifests (e.g. parsed YAML) as the resources a Pulumi program would register. */
export function resourcesFromManifests(manifests: Array<Record<string, any>>): RenderedResource[] {
  return manifests.map((m, i) => ({ type: kubernetesTypeToken(m), name: `${m?.metadata?.name ?? "object"}-${i}`, props: m }));
}

export function mandatoryViolations(violations: Violation[]): Violation[] {
  return violations.filter((v) => v.enforcementLevel === "mandatory");
}

/** `[mandatory] rule-name  Kind ns/name: message`, one line per violation, mandatory first. */
export function formatViolations(violations: Violation[]): string {
  const rank = (v: Violation) => (v.enforcementLevel === "mandatory" ? 0 : 1);
  return [...violations]
    .sort((a, b) => rank(a) - rank(b))
    .map((v) => `[${v.enforcementLevel}] ${v.policy}  ${v.resource}: ${v.message}`)
    .join("\n");
}
