import { ConfigError } from "../../../infra/config";
import { evaluatePolicies, loadPolicyConfig, policyConfigNames, PolicyConfig, Violation } from "../../../policies/evaluate";
import { platformProgram } from "../../../infra/program";
import { renderProgram, Rendered } from "./render";
import { objectKey } from "./diff";
import { validateSchemas } from "./schema-validate";
import { loadStackConfig, StackConfig } from "./stack-config";

export interface SynthOptions {
  /** Stack name; its file is `stacks/Pulumi.<stack>.yaml`. */
  stack: string;
  /** Another stack file (fixtures, proposed edits); default: the stack's own. */
  stackFile?: string;
  /** Config values that override the stack file's (`classroom:key` -> value). */
  overrides?: Record<string, string>;
  /** The program; default: the platform program that `pulumi up` runs. */
  program?: () => unknown;
  /** Policy enforcement config; default: policies/config/<stack>.json, else the environment's file. */
  policyConfig?: PolicyConfig;
}

export interface SynthResult extends Rendered {
  stack: StackConfig;
  /** Environment from the parsed config (selects the policy enforcement file). */
  environment: string;
  /** Objects the bundled Kubernetes schemas reject, by `Kind/namespace/name`. */
  schemaProblems: { key: string; errors: string[] }[];
  /** The policy pack's verdicts over every rendered resource (the same rule code `pulumi preview --policy-pack` runs). */
  violations: Violation[];
}

/** Config, render under mocks, schema check: everything synth does except writing and reporting. */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const stack = loadStackConfig(options.stack, { stackFile: options.stackFile });
  Object.assign(stack.config, options.overrides ?? {});
  let failure: unknown;
  const program = options.program ?? platformProgram;
  const rendered = await renderProgram(() => {
    try {
      return program();
    } catch (err) {
      failure = err;
      return {};
    }
  }, stack);
  if (failure) throw failure;
  const problems = validateSchemas(rendered.objects.map((o) => o.object));
  const environment = stack.config["classroom:environment"] ?? options.stack;
  const policyConfig = options.policyConfig ?? loadPolicyConfig(policyConfigNames().includes(options.stack) ? options.stack : environment);
  const violations = evaluatePolicies(
    rendered.resources.map((r) => ({ type: r.type, name: r.name, props: r.props })),
    policyConfig,
  );
  return {
    ...rendered,
    stack,
    environment,
    schemaProblems: problems.map((p) => ({ key: objectKey(rendered.objects[p.index].object), errors: p.errors })),
    violations,
  };
}

export { ConfigError };
