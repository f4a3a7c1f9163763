import { Command } from "commander";
import { EXIT, oneLineCommanderErrors, projectVersion, runCli } from "../cli/run";
import { ToolMissingError } from "../toolchain/toolchain";
import { engineEnv, exportLines } from "./engine-env";

// `npm run engine -- env`: shell `export` lines that put the Pulumi CLI and the project's offline settings
// in place, for `eval "$(npm run -s engine -- env)"`. Progress and notes go to stderr so eval sees only exports.

const program = new Command("engine")
  .description("The Pulumi engine as this project runs it: offline, with the project's provider plugin")
  .option("--debug", "print stack traces of errors")
  .version(projectVersion(), "--version", "print the version")
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

program
  .command("env")
  .description("print export lines for eval: PATH with pulumi, PULUMI_HOME, offline settings, backend and passphrase")
  .option("--no-build", "fail instead of building a missing CLI or provider from the Go module proxy")
  .action((opts: { build: boolean }) => {
    const result = engineEnv({ build: opts.build });
    console.error(
      `engine: pulumi ${result.pulumiVersion} (${result.pulumiFromPath ? "from PATH" : "project build"}) at ${result.pulumi}; ` +
        `kubernetes plugin ${result.providerPluginVersion}, built from ${result.providerOrigin}`,
    );
    console.log(exportLines(result));
  });

for (const sub of program.commands) sub.exitOverride();

// A tool that is not built (with --no-build) is the machine's state: one line, exit 2 (tools/cli/run.ts).
runCli(
  "engine",
  async () => {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  },
  (err) => (err instanceof ToolMissingError ? "usage" : undefined),
);
