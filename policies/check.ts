// `npm run policy:check -- --stack prod manifests.yaml [...]`: judges plain Kubernetes manifests (YAML,
// one or many documents per file, `-` for stdin) with the pack at a stack's enforcement level, exactly
// as synth judges the rendered platform. Exit 0 clean or advisory only, 1 on a mandatory violation,
// 2 on bad input (unreadable file, invalid YAML, unknown stack or config).
import { Command } from "commander";
import * as fs from "node:fs";
import { parseAllDocuments } from "yaml";
import { evaluatePolicies, formatViolations, loadPolicyConfig, mandatoryViolations, PolicyConfigError, resourcesFromManifests } from "./evaluate";

class InputError extends Error {}

function readManifests(file: string): Array<Record<string, any>> {
  let text: string;
  try {
    text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: Array<Record<string, any>> = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length) throw new InputError(`${file}: document ${i + 1} is not valid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    const items = value.kind?.endsWith?.("List") && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (typeof item !== "object" || !item.apiVersion || !item.kind) throw new InputError(`${file}: document ${i + 1} is not a Kubernetes object (needs apiVersion and kind)`);
      out.push(item);
    }
  }
  return out;
}

const program = new Command("policy:check")
  .description("Judge Kubernetes manifests with the classroom policy pack at a stack's enforcement level")
  .requiredOption("-s, --stack <name>", "stack whose policies/config/<name>.json sets the levels")
  .argument("<files...>", "YAML files of manifests (- for stdin)")
  .showHelpAfterError();

try {
  program.parse();
  const { stack } = program.opts<{ stack: string }>();
  const config = loadPolicyConfig(stack);
  const manifests = program.args.flatMap(readManifests);
  const violations = evaluatePolicies(resourcesFromManifests(manifests), config);
  const mandatory = mandatoryViolations(violations);
  if (violations.length) console.log(formatViolations(violations));
  console.log(`policy:check ${stack}: ${manifests.length} objects, ${mandatory.length} mandatory and ${violations.length - mandatory.length} advisory violations`);
  process.exitCode = mandatory.length ? 1 : 0;
} catch (e) {
  if (e instanceof InputError || e instanceof PolicyConfigError) {
    console.error(`policy:check: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
