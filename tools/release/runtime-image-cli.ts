// `npm run release:runtime-image -- <stack> <image@sha256:digest>`: pins the image the platform's own
// daemons run from (`classroom:runtimeImage`) in one stack file, with the same checks as a service
// release: the stack file checked as it is, the edit validated by the config schema, both states rendered
// and diffed, new schema problems and mandatory policy violations refused, upgrade hazards refused, and the
// file edited in place (mode, owner and symlinks kept). The runtime-image workflow runs it for every
// deployed stack and opens a pull request; deploy.yml then deploys the merged pin.
import { Command, Option } from "commander";
import * as path from "node:path";
import { ConfigError } from "../../infra/config";
import { PolicyConfigError } from "../../policies/policy-config";
import { parseImage } from "../../policies/rules/images";
import { emptyOptionProblems, oneLineCommanderErrors, projectVersion, runCli } from "../cli/run";
import { DataLossRefused, formatDiff, PROJECT_ROOT, StackFileError } from "../synth";
import { policyConfigFor, pulumiUpArgs, shellCommand } from "./deploy";
import { checkStackFile } from "./diff";
import { ReleaseError, ReleaseRefused } from "./errors";
import { replaceFileText, replaceRefusal } from "./replace-file";
import { DEFAULT_STACKS_DIR, displayPath, explicitStackFile, StackFile, stackFilePath } from "./stack-file";

const KEY = "classroom:runtimeImage";
const DIGEST = /^sha256:[a-f0-9]{64}$/;

const program = new Command("release:runtime-image")
  .description("Pin the platform's runtime image by digest in one stack file, with the synth diff and the checks of a service release")
  .argument("<stack>", "stack name (stacks/Pulumi.<stack>.yaml)")
  .argument("<image>", "the image as <repository>:<tag>@sha256:<digest> (the runtime-image workflow prints it)")
  .option("--dry-run", "show the diff, write nothing")
  .addOption(new Option("--stacks-dir <dir>", "folder of the stack files").default(DEFAULT_STACKS_DIR, "the project's stacks/"))
  .option("--stack-file <path>", "edit this stack file instead of <stacks-dir>/Pulumi.<stack>.yaml")
  .option("--allow-data-loss", "go ahead even when a StatefulSet would be replaced or a volume claim lost")
  .option("--debug", "print the stack trace of any error")
  .version(projectVersion(), "--version", "print the version and exit")
  .addHelpText(
    "after",
    `
The stack file is written, nothing is deployed: deploy it like any change (deploy.yml, or the pulumi
command printed at the end).

Exit codes: 0 done, 1 refused (data loss, a schema or mandatory policy problem the pin would introduce),
2 bad request or stack file, 3 internal error.`,
  )
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

async function main(): Promise<number> {
  program.parse(process.argv);
  const [stack, image] = program.processedArgs as [string, string];
  const opts = program.opts<{ dryRun?: boolean; stacksDir: string; stackFile?: string; allowDataLoss?: boolean }>();

  const problems = [...emptyOptionProblems(program), ...imageProblems(image)];
  if (opts.stackFile !== undefined && program.getOptionValueSource("stacksDir") === "cli")
    problems.push("--stack-file and --stacks-dir exclude each other: give one");
  if (problems.length > 0)
    throw problems.length === 1 ? new ReleaseError(problems[0]) : new ReleaseError(`${problems.length} problems, nothing written:`, problems);

  const file = opts.stackFile === undefined ? stackFilePath(path.resolve(opts.stacksDir), stack) : explicitStackFile(path.resolve(opts.stackFile));
  const stackFile = new StackFile(file);
  if (!opts.dryRun) {
    const refusal = replaceRefusal(file);
    if (refusal) throw new ReleaseError(refusal);
  }
  checkStackFile(stack, file);
  const current = stackFile.configString(KEY);
  console.log(`${stack}: runtime image ${current ?? "(the schema's default)"} -> ${image}`);
  const editedText = stackFile.withConfigString(KEY, image);

  // Loaded only now: rendering pulls in the Pulumi SDK, seconds that a bad request should not wait for.
  const { releaseDiff } = await import("./diff");
  const plan = await releaseDiff({ stack, currentFile: file, editedText });
  console.log(formatDiff(plan.diff, { title: `synth diff ${stack}` }));
  if (plan.hazards.length > 0 && !opts.allowDataLoss) {
    throw new ReleaseRefused(`${new DataLossRefused(plan.hazards, `pinning the runtime image in ${stack}`).message}\nnothing written`);
  }
  const shown = displayPath(file);
  if (editedText === stackFile.text) {
    console.log(`no change: ${shown} already pins ${image}`);
    return 0;
  }
  if (opts.dryRun) {
    console.log(`dry run: ${shown} not written`);
    return 0;
  }
  replaceFileText(file, stackFile.text, editedText);
  console.log(
    `wrote ${shown}; deploy with:\n  ${shellCommand(["pulumi", ...pulumiUpArgs({ stack, stackFile: file, root: PROJECT_ROOT, policyConfig: policyConfigFor(stack, stackFile.environment()) }, { confirmed: false })])}`,
  );
  return 0;
}

/** A pin is a digest: a tag alone can be re-pushed, which is what pinning exists to rule out. */
function imageProblems(image: string): string[] {
  const ref = parseImage(image);
  if (!ref.repository || /\s/.test(image)) return [`<image> must be <repository>:<tag>@sha256:<digest>, got '${image}'`];
  if (ref.digest === undefined) return [`<image> '${image}' has no digest: pin it as ${image}@sha256:<64 hex digits> (the workflow's build step prints it)`];
  if (!DIGEST.test(ref.digest)) return [`<image> '${image}': the digest must be sha256:<64 hex digits>, got '${ref.digest}'`];
  return [];
}

runCli("release:runtime-image", main, (err) => {
  if (err instanceof ConfigError || err instanceof StackFileError || err instanceof PolicyConfigError) return "usage";
  if (err instanceof DataLossRefused) return "findings";
  return undefined;
});
