// `npm run policy:check -- --stack prod manifests.yaml [...]`: judges plain Kubernetes manifests (YAML,
// one or many documents per file, `-` for stdin) with the pack at a stack's enforcement level, exactly
// as synth judges the rendered platform. Exit codes follow tools/cli/run.ts: 0 clean or advisory only,
// 1 on a mandatory violation, 2 on bad input (unreadable file, invalid YAML, unknown stack or config),
// every input problem of a run reported together.
import { Command } from "commander";
import * as fs from "node:fs";
import { parseAllDocuments } from "yaml";
import { emptyOptionProblems, oneLineCommanderErrors, projectVersion, runCli, UserError } from "../tools/cli/run";
import {
  evaluatePolicies,
  formatViolations,
  loadPolicyConfig,
  mandatoryViolations,
  PolicyConfigError,
  policyConfigNames,
  resolvePolicyConfig,
  resourcesFromManifests,
} from "./evaluate";
import { allRules } from "./rules";

class InputError extends Error {}

function readManifests(file: string): Array<Record<string, any>> {
  let text: string;
  try {
    if (file !== "-" && fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new InputError(`${file} is a folder; give the YAML files in it`);
    text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: Array<Record<string, any>> = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length) throw new InputError(`${file}: document ${i + 1} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
    let value;
    try {
      value = doc.toJS();
    } catch (e) {
      // yaml refuses to expand aliases past a limit (a "billion laughs" file) only here, not while parsing.
      throw new InputError(`${file}: document ${i + 1} cannot be read: ${(e as Error).message.split("\n")[0]}`);
    }
    if (value === null || value === undefined) continue;
    const items = value.kind?.endsWith?.("List") && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (typeof item !== "object" || item === null || !item.apiVersion || !item.kind)
        throw new InputError(`${file}: document ${i + 1} is not a Kubernetes object (needs apiVersion and kind)`);
      out.push(item);
    }
  }
  return out;
}

const program = new Command("policy:check")
  .description("Judge Kubernetes manifests with the classroom policy pack at a stack's enforcement level")
  .requiredOption("-s, --stack <name>", "stack whose policies/config/<name>.json sets the levels")
  .option("--debug", "print stack traces of errors")
  .version(projectVersion(), "--version", "print the version")
  .argument("<files...>", "YAML files of manifests (- for stdin)")
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

runCli("policy:check", () => {
  program.parse();
  const { stack } = program.opts<{ stack: string }>();
  const problems: string[] = emptyOptionProblems(program);
  let config;
  if (stack !== "")
    try {
      // A path in a stack name would read another folder's file, and be reported under a file name it is not.
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack))
        throw new PolicyConfigError("--stack", [
          `${JSON.stringify(stack)} is not a stack name (letters, digits, '.', '_' and '-'; stacks with a policy config: ${policyConfigNames().join(", ")})`,
        ]);
      config = loadPolicyConfig(stack);
      resolvePolicyConfig(config, allRules, `policies/config/${stack}.json`);
    } catch (e) {
      if (!(e instanceof PolicyConfigError)) throw e;
      problems.push(...e.problems.map((p) => `${e.source}: ${p}`));
    }
  const manifests: Array<Record<string, any>> = [];
  for (const file of program.args) {
    try {
      manifests.push(...readManifests(file));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length === 1) throw new UserError(problems[0]);
  if (problems.length > 1) throw new UserError(`${problems.length} problems:`, problems);
  const violations = evaluatePolicies(resourcesFromManifests(manifests), config!);
  const mandatory = mandatoryViolations(violations);
  if (violations.length) console.log(formatViolations(violations));
  console.log(
    `policy:check ${stack}: ${manifests.length} objects, ${mandatory.length} mandatory and ${violations.length - mandatory.length} advisory violations`,
  );
  return mandatory.length ? 1 : 0;
});
