import { Command, Option } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../../infra/config";
import { formatViolations, loadPolicyConfig, mandatoryViolations, PolicyConfigError } from "../../policies/evaluate";
import { PROJECT_ROOT, StackFileError } from "./stack-config";
import { summarize } from "./summary";
import { synthesize } from "./synthesize";
import { refuseUnsafeUpgrade } from "./upgrade-safety";
import { writeManifests } from "./write";

const program = new Command("synth")
  .description("Render a stack offline under Pulumi's mocks, validate every object, and write it as YAML")
  .addOption(new Option("-s, --stack <name>", "stack to render (stacks/Pulumi.<name>.yaml)").default("dev"))
  .option("--stack-file <path>", "render this stack file instead of the stack's own")
  .option("-o, --out <dir>", "output directory (default: out/<stack>)")
  .option("--policy-config <file-or-stack>", "policy enforcement config (default: policies/config/<stack>.json)")
  .option("--server", "also send every object to the API server in KUBECONFIG as a strict dry run")
  .option("-q, --quiet", "print only problems and the final line")
  .option("--baseline <git-ref>", "fail (exit 1) if the stack changed since this git ref in a way that replaces a StatefulSet or loses a volume claim")
  .option("--allow-data-loss", "with --baseline: report such changes without failing")
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<{ stack: string; stackFile?: string; out?: string; server?: boolean; quiet?: boolean; policyConfig?: string; baseline?: string; allowDataLoss?: boolean }>();
  const started = Date.now();
  const policyConfig = opts.policyConfig ? readPolicyConfig(opts.policyConfig) : undefined;
  const result = await synthesize({ stack: opts.stack, stackFile: opts.stackFile, policyConfig });
  if (opts.baseline && (await refuseUnsafeUpgrade(opts.stack, opts.baseline, result, !!opts.allowDataLoss))) return 1;
  const out = path.resolve(opts.out ?? path.join(PROJECT_ROOT, "out", opts.stack));
  writeManifests(result.objects, out);
  if (!opts.quiet) console.log(summarize(result.objects));
  let failed = false;
  for (const problem of result.schemaProblems) {
    failed = true;
    console.error(`schema: ${problem.key}: ${problem.errors.join("; ")}`);
  }
  const mandatory = mandatoryViolations(result.violations);
  if (result.violations.length) console.log(`policy violations (${mandatory.length} mandatory, ${result.violations.length - mandatory.length} advisory):\n${formatViolations(result.violations)}`);
  else console.log("policy violations: none");
  if (mandatory.length) failed = true;
  if (opts.server) failed = (await validateOnServer(result.objects.map((o) => o.object))) || failed;
  const verdict = failed ? "FAILED" : "ok";
  console.log(`synth ${opts.stack}: ${result.objects.length} objects, ${result.schemaProblems.length} schema errors, ${mandatory.length} mandatory policy violations -> ${path.relative(process.cwd(), out) || "."} (${Date.now() - started} ms) ${verdict}`);
  return failed ? 1 : 0;
}

/** Strict server-side dry run against the cluster in KUBECONFIG (tools/cluster). */
async function validateOnServer(objects: Record<string, any>[]): Promise<boolean> {
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) throw new UsageError("--server needs KUBECONFIG (start one with `npm run cluster -- up`)");
  const { validateOnServer: validate } = await import("../cluster/server-validate");
  const rejections = await validate(objects, kubeconfig);
  for (const r of rejections) console.error(`server: ${r.kind}/${r.namespace ?? ""}/${r.name}: ${r.message}`);
  console.log(`server validation: ${objects.length} objects, ${rejections.length} rejected`);
  return rejections.length > 0;
}

class UsageError extends Error {}

/** A policy config file path, or a stack name whose policies/config/<name>.json to use. */
function readPolicyConfig(value: string) {
  if (!value.endsWith(".json")) return loadPolicyConfig(value);
  if (!fs.existsSync(value)) throw new UsageError(`--policy-config: no file ${value}`);
  try {
    return JSON.parse(fs.readFileSync(value, "utf8"));
  } catch (err) {
    throw new UsageError(`--policy-config: ${value} is not valid JSON: ${(err as Error).message}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    // Bad input is reported as plain lines, without a stack trace; anything else is a bug and keeps its trace.
    if (err instanceof ConfigError) {
      console.error(`invalid stack configuration:\n${err.problems.map((p) => `  ${p}`).join("\n")}`);
      process.exit(2);
    }
    if (err instanceof StackFileError || err instanceof UsageError || err instanceof PolicyConfigError) {
      console.error(`synth: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(3);
  },
);
