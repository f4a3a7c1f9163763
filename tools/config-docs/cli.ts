// `npm run config:docs [-- --check]`: writes README.md's configuration table and Pulumi.yaml's key
// descriptions from the schema in infra/config (generate.ts); `--check` writes nothing and exits 1
// naming each file that differs from what the schema generates.
import { Command } from "commander";
import { FindingsError, oneLineCommanderErrors, projectVersion, runCli } from "../cli/run";
import { PROJECT_ROOT } from "../synth";
import { driftedFiles, writeGenerated } from "./generate";

const program = new Command("config:docs")
  .description("Generate README.md's configuration table and Pulumi.yaml's config descriptions from the schema in infra/config")
  .option("--check", "write nothing; exit 1 naming each file that is not what the schema generates")
  .option("--debug", "print the stack trace of any error")
  .version(projectVersion(), "--version", "print the version and exit")
  .addHelpText("after", "\nExit codes: 0 up to date (or written), 1 drift found by --check, 2 bad usage, 3 internal error.")
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

function main(): number {
  program.parse(process.argv);
  const { check } = program.opts<{ check?: boolean }>();
  if (check) {
    const drifted = driftedFiles(PROJECT_ROOT);
    if (drifted.length > 0) {
      throw new FindingsError(
        `${drifted.join(", ")} ${drifted.length === 1 ? "differs" : "differ"} from the schema in infra/config; run npm run config:docs and commit the result`,
      );
    }
    console.log("config:docs: README.md and Pulumi.yaml match the schema");
    return 0;
  }
  const changed = writeGenerated(PROJECT_ROOT);
  console.log(changed.length ? `config:docs: wrote ${changed.join(", ")}` : "config:docs: README.md and Pulumi.yaml already match the schema");
  return 0;
}

runCli("config:docs", main);
