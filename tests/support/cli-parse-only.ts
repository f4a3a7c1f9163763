// `tsx tests/support/cli-parse-only.ts <cli.ts> [args...]`: runs one of the project's CLIs exactly as
// `npm run <script> -- [args...]` would, except that it stops right after commander has parsed the
// arguments: exit 0 and "parsed <name>" when commander accepted them, the CLI's own usage error and
// exit 2 when not. Nothing after the parse runs (no stack file read, nothing written, nothing deployed),
// so a test can check command lines taken from the workflows, whose values are shell variables.
//
// It patches commander's Command.prototype instead of asking each CLI for a "parse only" switch: the
// CLIs stay as they are, and the parse checked is the one the CLI itself performs (its options, its
// arguments, its exitOverride). Commander is ESM-only, so this runs under tsx, not in jest's runtime.
import { Command } from "commander";
import * as path from "node:path";

const [cli, ...args] = process.argv.slice(2);
if (!cli) {
  console.error("usage: cli-parse-only.ts <cli.ts> [args...]");
  process.exit(2);
}

function parsed(command: Command): never {
  process.stdout.write(`parsed ${command.name()}\n`);
  process.exit(0);
}

const { parse, parseAsync } = Command.prototype;
// A CLI with subcommands runs their action from inside parse: the hook stops it before the action.
Command.prototype.parse = function (this: Command, ...rest: Parameters<Command["parse"]>) {
  this.hook("preAction", (_program, action) => parsed(action));
  parse.apply(this, rest);
  return parsed(this);
};
Command.prototype.parseAsync = async function (this: Command, ...rest: Parameters<Command["parseAsync"]>) {
  this.hook("preAction", (_program, action) => parsed(action));
  await parseAsync.apply(this, rest);
  return parsed(this);
};

const script = path.resolve(cli);
process.argv = [process.argv[0], script, ...args];
void import(script);
