import * as path from "node:path";
import { ManagedProcess } from "../harness/process";

const repoRoot = path.resolve(__dirname, "../..");

/**
 * The Kafka-outage replayer daemon run from the repository's sources with the given settings on top of
 * this process's environment. node with the tsx loader, not the tsx CLI: the CLI forks a child that
 * would survive a SIGKILL.
 */
export function startReplayerFromSource(env: Record<string, string>, name = "replayer"): ManagedProcess {
  return ManagedProcess.start(name, path.join(repoRoot, "node_modules/.bin/node"), ["--import", "tsx", path.join(repoRoot, "runtime/mq/replayer-main.ts")], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
}
