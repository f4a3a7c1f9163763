import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderProgram, Rendered } from "./render";
import { loadStackConfig, StackFileError } from "./stack-config";

/**
 * Runs `use` on a checkout of `ref`: a detached `git worktree` in a temporary folder outside the
 * repository, removed afterwards whatever happens (the worktree registration included). The checkout
 * gets the current node_modules (dependencies are not part of a commit), except that the repository's own
 * workspace packages point into the checkout, so the baseline runs its own runtime contracts.
 */
export async function withCheckout<T>(ref: string, root: string, use: (dir: string) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-baseline-"));
  const dir = path.join(tmp, "checkout");
  const remove = () => {
    // The links first: removing the worktree must never reach through them into the real node_modules.
    fs.rmSync(path.join(dir, "node_modules"), { recursive: true, force: true });
    const removed = spawnSync("git", ["-C", root, "worktree", "remove", "--force", dir], { encoding: "utf8" });
    fs.rmSync(tmp, { recursive: true, force: true });
    if (removed.status !== 0) spawnSync("git", ["-C", root, "worktree", "prune"], { encoding: "utf8" });
  };
  // A process ended by a signal skips `finally`; 'exit' still runs for process.exit from a signal handler.
  process.once("exit", remove);
  try {
    const added = spawnSync("git", ["-C", root, "worktree", "add", "--detach", "--quiet", dir, `${ref}^{commit}`], { encoding: "utf8" });
    if (added.status !== 0) throw new Error(`git worktree add of ${ref} failed: ${(added.stderr || String(added.error)).trim()}`);
    linkNodeModules(path.join(root, "node_modules"), path.join(dir, "node_modules"), dir);
    return await use(dir);
  } finally {
    process.removeListener("exit", remove);
    remove();
  }
}

/**
 * A node_modules of links into `from`. Links that point into the repository (npm workspaces such as
 * @classroom-platform/runtime -> ../../runtime) are recreated relative, so they point into the checkout.
 * Every other package resolves to the very same files, so the baseline's program and synth share one
 * Pulumi SDK instance (Node caches modules by real path).
 */
function linkNodeModules(from: string, to: string, checkout: string): void {
  fs.mkdirSync(to);
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.name.startsWith("@") && entry.isDirectory()) {
      linkNodeModules(source, target, checkout);
    } else if (
      entry.isSymbolicLink() &&
      !path.isAbsolute(fs.readlinkSync(source)) &&
      path.resolve(to, fs.readlinkSync(source)).startsWith(checkout + path.sep)
    ) {
      fs.symlinkSync(fs.readlinkSync(source), target);
    } else {
      fs.symlinkSync(fs.realpathSync(source), target);
    }
  }
}

/** Whether `ref` has the stack's file (`stacks/Pulumi.<stack>.yaml`): without it nothing was deployed from it. */
export function stackExistsAt(ref: string, stack: string, root: string): boolean {
  return spawnSync("git", ["-C", root, "cat-file", "-e", `${ref}:./stacks/Pulumi.${stack}.yaml`], { encoding: "utf8" }).status === 0;
}

/**
 * Renders a checkout's own program (`infra/program.ts` platformProgram) with the checkout's stack file,
 * under today's mocks: the URNs and objects that checkout would deploy.
 */
export async function renderCheckout(dir: string, stack: string): Promise<Rendered> {
  const config = loadStackConfig(stack, { root: dir });
  const programFile = path.join(dir, "infra", "program.ts");
  if (!fs.existsSync(programFile)) throw new StackFileError(`the baseline has no infra/program.ts to render (it predates the program as a function)`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { platformProgram } = require(programFile) as { platformProgram?: () => unknown };
  if (typeof platformProgram !== "function") throw new StackFileError("the baseline's infra/program.ts exports no platformProgram()");
  let failure: unknown;
  const rendered = await renderProgram(() => {
    try {
      return platformProgram();
    } catch (err) {
      failure = err;
      return {};
    }
  }, config);
  if (failure) throw failure;
  return rendered;
}
