// Every `npm run <script> -- <args>` a workflow runs for one of the project's own CLIs is a command line
// the CLI accepts: a workflow step that passes an option the CLI does not have fails with exit 2 on every
// run, and nothing else would notice before CI does (actionlint does not know the CLIs). Each command is
// run through tests/support/cli-parse-only.ts: the CLI's own commander parse, with shell variables left
// as their literal text, and nothing after the parse.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github/workflows");
const TSX_CLI = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const SCRIPTS = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

interface NpmRun {
  where: string;
  script: string;
  args: string[];
}

/** Shell words of one line, quotes removed; control operators and redirections are words of their own. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "#" && word === undefined) break;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      word = (word ?? "") + line.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? line.length : end;
    } else if (";&|<>".includes(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      words.push(c);
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The `npm run` commands of a step's script: `npm run [npm options] <script> [-- <args>]`, up to the next operator. */
export function npmRuns(script: string, where: string): NpmRun[] {
  const runs: NpmRun[] = [];
  for (const line of script.replace(/\\\n/g, " ").split("\n")) {
    const words = shellWords(line);
    for (let i = 0; i < words.length - 1; i++) {
      if (words[i] !== "npm" || (words[i + 1] !== "run" && words[i + 1] !== "run-script")) continue;
      let j = i + 2;
      while (j < words.length && words[j].startsWith("-")) j++;
      const script = words[j];
      const rest = words.slice(j + 1);
      const end = rest.findIndex((w) => ";&|<>".includes(w));
      const tail = end < 0 ? rest : rest.slice(0, end);
      runs.push({ where, script, args: tail[0] === "--" ? tail.slice(1) : [] });
    }
  }
  return runs;
}

function workflowRuns(): NpmRun[] {
  return fs
    .readdirSync(WORKFLOWS)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((file) => {
      const wf = parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as { jobs?: Record<string, { steps?: Array<{ name?: string; run?: string }> }> };
      return Object.entries(wf.jobs ?? {}).flatMap(([job, j]) =>
        (j.steps ?? []).flatMap((step, n) => (step.run ? npmRuns(step.run, `${file} jobs.${job} step ${step.name ?? n + 1}`) : [])),
      );
    });
}

/** The project's own CLIs are the scripts that run a TypeScript file under tsx. */
function cliOf(script: string): string | undefined {
  return /^tsx (\S+\.ts)$/.exec(SCRIPTS[script] ?? "")?.[1];
}

describe("the command lines the workflows give the project's CLIs", () => {
  const runs = workflowRuns();

  test("are found: the runtime image pin and synth at least", () => {
    expect(runs.map((r) => r.script)).toEqual(expect.arrayContaining(["release:runtime-image", "synth"]));
  });

  test.each(runs.map((r) => [`${r.where}: npm run ${r.script} -- ${r.args.join(" ")}`, r]))("%s", (_title, run) => {
    expect(Object.keys(SCRIPTS)).toContain(run.script);
    const cli = cliOf(run.script);
    if (!cli) return; // not one of the project's CLIs (its arguments are another tool's business)
    const result = spawnSync(process.execPath, [TSX_CLI, "tests/support/cli-parse-only.ts", cli, ...run.args], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect({ code: result.status, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^parsed /);
  });
});

describe("the parse-only runner can fail", () => {
  test.each([
    ["an option the CLI does not have", "tools/release/runtime-image-cli.ts", ["dev", "image@sha256:0", "--no-deploy"], /unknown option '--no-deploy'/],
    ["a missing argument", "tools/release/runtime-image-cli.ts", ["dev"], /missing required argument 'image'/],
    ["a misspelled option", "tools/synth/cli.ts", ["--stak", "dev"], /unknown option '--stak'/],
  ])("%s", (_case, cli, args, message) => {
    const result = spawnSync(process.execPath, [TSX_CLI, "tests/support/cli-parse-only.ts", cli, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
  });

  test("shell words and npm runs are taken apart the way the shell and npm do", () => {
    expect(npmRuns('for s in a b; do\n  npm run -s release:runtime-image -- "$s" "$IMAGE" --dry-run > log\ndone', "x")).toEqual([
      { where: "x", script: "release:runtime-image", args: ["$s", "$IMAGE", "--dry-run"] },
    ]);
    expect(npmRuns("npm ci && npm run synth -- --stack 'a b' # comment\nnpm run build", "y")).toEqual([
      { where: "y", script: "synth", args: ["--stack", "a b"] },
      { where: "y", script: "build", args: [] },
    ]);
  });
});
