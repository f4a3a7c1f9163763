/**
 * `npm run scheduler:status` (or `npx tsx runtime/scheduler/status-cli.ts`): next fire, running run,
 * queue, counters and last runs of every job. Reads the same env vars as the daemon; flags override.
 * Exit codes (cli-exit.ts): 0 shown, 2 bad flag, jobs file or Redis settings, or Redis unreachable, 3 a bug.
 */
import { Command, InvalidArgumentError } from "commander";
import { EXIT, oneLineCommanderErrors, packageVersion, reportError, UsageError } from "./cli-exit";
import { createRedis, loadJobsFile, redisFromEnv } from "./daemon-config";
import { JobConfigError } from "./job-schema";
import { formatStatus, readStatus } from "./status";

const tool = "scheduler:status";

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected an integer >= 1, got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command(tool)
    .description("Show each scheduled job's next fire and last runs")
    .version(packageVersion())
    .option("--jobs-file <path>", "jobs JSON (default: $CLASSROOM_SCHEDULER_JOBS_FILE)")
    .option("--redis-url <url>", "redis://host:port[/db] (default: $CLASSROOM_REDIS_URL or the sentinel variables)")
    .option("--key-prefix <prefix>", "Redis key prefix (default: $CLASSROOM_SCHEDULER_KEY_PREFIX or classroom:scheduler)")
    .option("--runs <n>", "last runs shown per job", positive, 5)
    .option("--json", "print JSON instead of text")
    .option("--debug", "print stack traces of errors too")
    .configureOutput(oneLineCommanderErrors)
    .exitOverride();
  program.parse(argv);
  const opts = program.opts<{ jobsFile?: string; redisUrl?: string; keyPrefix?: string; runs: number; json?: boolean }>();
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...(opts.redisUrl ? { CLASSROOM_REDIS_URL: opts.redisUrl, CLASSROOM_REDIS_SENTINELS: undefined } : {}),
  };
  // The jobs file and the Redis settings are independent: both are checked, and every problem reported at once.
  const problems: string[] = [];
  const attempt = <T>(check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof UsageError || err instanceof JobConfigError)) throw err;
      problems.push(...err.message.split("\n"));
      return undefined;
    }
  };
  const file = opts.jobsFile ?? env.CLASSROOM_SCHEDULER_JOBS_FILE;
  if (!file) problems.push("--jobs-file: required (or set CLASSROOM_SCHEDULER_JOBS_FILE)");
  const jobs = file ? attempt(() => loadJobsFile(file, opts.jobsFile ? "--jobs-file" : "CLASSROOM_SCHEDULER_JOBS_FILE")) : undefined;
  const redisSettings = attempt(() => redisFromEnv(env));
  if (problems.length === 1) throw new UsageError(problems[0]);
  if (problems.length > 1) throw new UsageError(`${problems.length} problems:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  const { options, description } = redisSettings!;
  const from = opts.redisUrl ? "--redis-url" : env.CLASSROOM_REDIS_SENTINELS ? "CLASSROOM_REDIS_SENTINELS" : "CLASSROOM_REDIS_URL";
  // One attempt: a status command should say "unreachable" now, not retry in the background.
  const redis = createRedis({ ...options, retryStrategy: () => null }, "scheduler-status");
  let connectError: string | undefined;
  redis.on("error", (err: Error) => (connectError ??= err.message));
  try {
    try {
      await redis.connect();
    } catch (err) {
      throw new UsageError(`cannot reach Redis at ${description} (${from}): ${connectError ?? (err as Error).message}`);
    }
    const status = await readStatus(redis, jobs!, opts.keyPrefix ?? env.CLASSROOM_SCHEDULER_KEY_PREFIX ?? "classroom:scheduler", opts.runs);
    console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return EXIT.ok;
  } finally {
    redis.disconnect();
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  // A Redis reply error (NOAUTH, WRONGPASS, NOPERM) is the user's settings, not a bug.
  (err) => process.exit(reportError(tool, err, (e) => e instanceof JobConfigError || (e as Error)?.name === "ReplyError")),
);
