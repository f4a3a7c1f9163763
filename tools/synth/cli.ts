import { Command, Option } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parsePlatformConfig } from "../../infra/config";
import { loadPolicyConfig, PolicyConfig, PolicyConfigError, resolvePolicyConfig } from "../../policies/policy-config";
import { allRules } from "../../policies/rules";
import { emptyOptionProblems, oneLineCommanderErrors, projectVersion, runCli, UserError } from "../cli/run";
import {
  DataLossRefused,
  formatHazards,
  hazardsSinceRef,
  isStackName,
  loadRenderer,
  loadStackConfig,
  PROJECT_ROOT,
  showPath,
  StackFileError,
  SynthResult,
  verifyBaselineRef,
} from ".";
import { checkOutDir } from "./out-dir";
import { summarize } from "./summary";
import { renderTopology, TOPOLOGY_FILE } from "./topology";
import { writeManifests } from "./write";

const program = new Command("synth")
  .description("Render a stack offline under Pulumi's mocks, validate every object, and write it as YAML")
  .addOption(new Option("-s, --stack <name>", "stack to render (stacks/Pulumi.<name>.yaml)").default("dev"))
  .option("--stack-file <path>", "render this stack file instead of the stack's own")
  .option(
    "-o, --out <dir>",
    "output folder (default: out/<stack>); synth owns it through a .classroom-synth marker and replaces only the files it wrote; a non-empty folder without the marker, the repository root, stacks/ and their parents are refused",
  )
  .option("--policy-config <file-or-stack>", "policy enforcement config (default: policies/config/<stack>.json)")
  .option("--server", "also send every object to the API server in KUBECONFIG as a strict dry run")
  .option("-q, --quiet", "print only problems and the final line")
  .option(
    "--baseline <git-ref>",
    "render the stack as a checkout of this git ref declares it and fail (exit 1) if deploying today's code over it replaces a StatefulSet, a claim, a generated password or the Secret holding it, or loses a volume claim",
  )
  .option("--allow-data-loss", "with --baseline: report such changes without failing")
  .option("--debug", "print stack traces of errors")
  .version(projectVersion(), "--version", "print the version")
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

interface SynthCliOptions {
  stack: string;
  stackFile?: string;
  out?: string;
  server?: boolean;
  quiet?: boolean;
  policyConfig?: string;
  baseline?: string;
  allowDataLoss?: boolean;
}

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<SynthCliOptions>();
  const { out, policyConfig } = checkInput(opts);
  // Loaded only now: the Pulumi SDK takes seconds to load, and bad input needs none of it.
  const { synthesize } = await loadRenderer();
  const { formatViolations, mandatoryViolations } = await import("../../policies/evaluate");
  // The time printed (and read by bench:synth) is the render's, without module loading, as before.
  const started = Date.now();
  const result = await synthesize({ stack: opts.stack, stackFile: opts.stackFile, policyConfig });
  if (opts.baseline && (await refuseUnsafeUpgrade(opts.stack, opts.baseline, result, !!opts.allowDataLoss))) return 1;
  const topology = renderTopology(
    result.objects.map((o) => o.object),
    opts.stack,
  );
  writeManifests(result.objects, out, new Map([[TOPOLOGY_FILE, topology]]));
  if (!opts.quiet) console.log(summarize(result));
  console.log(`topology: ${path.relative(process.cwd(), path.join(out, TOPOLOGY_FILE))}`);
  let failed = false;
  for (const problem of result.schemaProblems) {
    failed = true;
    console.error(`schema: ${problem.key}: ${problem.errors.join("; ")}`);
  }
  const mandatory = mandatoryViolations(result.violations);
  if (result.violations.length)
    console.log(
      `policy violations (${mandatory.length} mandatory, ${result.violations.length - mandatory.length} advisory):\n${formatViolations(result.violations)}`,
    );
  else console.log("policy violations: none");
  if (mandatory.length) failed = true;
  if (opts.server) failed = (await validateOnServer(result.objects.map((o) => o.object))) || failed;
  const verdict = failed ? "FAILED" : "ok";
  console.log(
    `synth ${opts.stack}: ${result.objects.length} objects, ${result.schemaProblems.length} schema errors, ${mandatory.length} mandatory policy violations -> ${path.relative(process.cwd(), out) || "."} (${Date.now() - started} ms) ${verdict}`,
  );
  return failed ? 1 : 0;
}

/**
 * Checks everything the user gave (options, stack file, its configuration, policy config, output folder)
 * before anything is rendered or written, and reports every problem of one run together: independent
 * mistakes must not surface one fix at a time.
 */
function checkInput(opts: SynthCliOptions): { out: string; policyConfig?: PolicyConfig } {
  const problems: string[] = [];
  const attempt = <T>(check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else if (err instanceof UserError) problems.push(err.message, ...err.details);
      else if (err instanceof StackFileError) problems.push(err.message);
      else if (err instanceof PolicyConfigError) problems.push(...err.problems.map((p) => `${err.source}: ${p}`));
      else throw err;
      return undefined;
    }
  };
  problems.push(...emptyOptionProblems(program));
  attempt(() => {
    opts.stack = stackOf(opts);
  });
  attempt(() => {
    if (opts.allowDataLoss && opts.baseline === undefined) throw new UserError("--allow-data-loss only applies with --baseline <git-ref>");
  });
  attempt(() => opts.baseline && verifyBaselineRef(opts.baseline));
  attempt(() => {
    if (opts.server && !process.env.KUBECONFIG) throw new UserError("--server needs KUBECONFIG (start one with `npm run cluster -- up`)");
  });
  attempt(() => {
    const stack = loadStackConfig(opts.stack, { stackFile: opts.stackFile });
    const shown = showPath(stack.file);
    try {
      parsePlatformConfig(stack.config, stack.secretKeys);
    } catch (err) {
      // Each line names the file: with --stack-file it is not the stack's own.
      if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `${shown}: ${p}`));
      throw err;
    }
  });
  const policyConfig = attempt(() => {
    if (!opts.policyConfig) return undefined;
    const config = readPolicyConfig(opts.policyConfig);
    resolvePolicyConfig(config, allRules, opts.policyConfig);
    return config;
  });
  // The default folder comes from the stack name; a name that is not one has already been reported.
  const outDir = opts.out ?? (isStackName(opts.stack) ? path.join(PROJECT_ROOT, "out", opts.stack) : undefined);
  const out = outDir === undefined ? undefined : attempt(() => checkOutDir(outDir, { root: PROJECT_ROOT, stacks: path.join(PROJECT_ROOT, "stacks") }));
  if (problems.length === 1) throw new UserError(problems[0]);
  if (problems.length > 1) throw new UserError(`${problems.length} problems:`, problems);
  return { out: out!, policyConfig };
}

/**
 * The stack to render. A file named Pulumi.<stack>.yaml is that stack's: without --stack it is rendered
 * as that stack (its policy config, its output folder), not as dev; with a different --stack it is
 * refused, as release refuses it, since one stack's file rendered as another's checks the wrong policies.
 */
function stackOf(opts: SynthCliOptions): string {
  const named = opts.stackFile ? /^Pulumi\.(.+)\.yaml$/.exec(path.basename(opts.stackFile))?.[1] : undefined;
  if (named === undefined) return opts.stack;
  if (program.getOptionValueSource("stack") !== "cli") return named;
  if (named !== opts.stack)
    throw new UserError(
      `--stack-file ${opts.stackFile} is the file of stack '${named}', not of '${opts.stack}': leave --stack out, or give the stack's own file`,
    );
  return opts.stack;
}

/**
 * `--baseline <ref>`: prints what deploying today's render over the ref's would replace, and says whether
 * synth must fail (hazards found and not accepted with --allow-data-loss).
 */
async function refuseUnsafeUpgrade(stack: string, ref: string, current: SynthResult, allowDataLoss: boolean): Promise<boolean> {
  const { hazards, replacements, baselineFound } = await hazardsSinceRef(stack, ref, current);
  if (!baselineFound) {
    console.log(`upgrade safety: stacks/Pulumi.${stack}.yaml does not exist at ${ref}; nothing deployed from it to protect`);
    return false;
  }
  // Replacing a Deployment or a Service costs a rollout, not data: shown, never refused.
  for (const r of replacements.filter((x) => !x.stateful)) {
    console.log(`upgrade safety: ${r.resource} is replaced (URN ${r.before.urn} -> ${r.after.urn}); keep it with ${r.alias}`);
  }
  if (hazards.length === 0) {
    console.log(`upgrade safety: no StatefulSet replacement, lost volume claim or replaced stateful resource since ${ref}`);
    return false;
  }
  if (allowDataLoss) {
    console.log(`upgrade safety: accepted with --allow-data-loss since ${ref}:\n${formatHazards(hazards)}`);
    return false;
  }
  console.error(new DataLossRefused(hazards, `the changes to stack ${stack} since ${ref}`).message);
  return true;
}

/** Strict server-side dry run against the cluster in KUBECONFIG (tools/cluster). */
async function validateOnServer(objects: Record<string, any>[]): Promise<boolean> {
  const { validateOnServer: validate } = await import("../cluster/server-validate");
  const rejections = await validate(objects, process.env.KUBECONFIG!);
  for (const r of rejections) console.error(`server: ${r.kind}/${r.namespace ?? ""}/${r.name}: ${r.message}`);
  console.log(`server validation: ${objects.length} objects, ${rejections.length} rejected`);
  return rejections.length > 0;
}

/** A policy config file path, or a stack name whose policies/config/<name>.json to use. */
function readPolicyConfig(value: string) {
  if (!value.endsWith(".json")) return loadPolicyConfig(value);
  if (!fs.existsSync(value)) throw new UserError(`--policy-config: no file ${value}`);
  if (!fs.statSync(value).isFile()) throw new UserError(`--policy-config: ${value} is not a file`);
  try {
    return JSON.parse(fs.readFileSync(value, "utf8"));
  } catch (err) {
    throw new UserError(`--policy-config: ${value} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Bad input found late is still bad input: the config checks run again inside the program, and a
 * component refuses arguments with a ResourceError (`service x: ...`). Only the SDK, already loaded by
 * then, can tell its own error class.
 */
function classify(err: unknown): "usage" | undefined {
  if (err instanceof StackFileError || err instanceof PolicyConfigError || err instanceof ConfigError) return "usage";
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi = require.cache[require.resolve("@pulumi/pulumi")] ? (require("@pulumi/pulumi") as typeof import("@pulumi/pulumi")) : undefined;
  return pulumi?.ResourceError.isInstance(err) ? "usage" : undefined;
}

runCli("synth", main, classify);
