/**
 * `npm run scheduler:status` (or `npx tsx runtime/scheduler/status-cli.ts`): next fire, running run,
 * queue, counters and last runs of every job. Reads the same env vars as the daemon; flags override.
 */
import { Command, InvalidArgumentError } from "commander";
import { createRedis, loadJobsFile, redisFromEnv } from "./daemon-config";
import { JobConfigError } from "./job-schema";
import { formatStatus, readStatus } from "./status";

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected an integer >= 1, got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command("scheduler:status")
    .description("Show each scheduled job's next fire and last runs")
    .option("--jobs-file <path>", "jobs JSON (default: $CLASSROOM_SCHEDULER_JOBS_FILE)")
    .option("--redis-url <url>", "redis://host:port[/db] (default: $CLASSROOM_REDIS_URL or the sentinel variables)")
    .option("--key-prefix <prefix>", "Redis key prefix (default: $CLASSROOM_SCHEDULER_KEY_PREFIX or classroom:scheduler)")
    .option("--runs <n>", "last runs shown per job", positive, 5)
    .option("--json", "print JSON instead of text")
    .exitOverride();
  try {
    program.parse(argv);
  } catch (err) {
    return (err as { exitCode?: number }).exitCode ?? 2;
  }
  const opts = program.opts<{ jobsFile?: string; redisUrl?: string; keyPrefix?: string; runs: number; json?: boolean }>();
  const env: Record<string, string | undefined> = { ...process.env, ...(opts.redisUrl ? { CLASSROOM_REDIS_URL: opts.redisUrl, CLASSROOM_REDIS_SENTINELS: undefined } : {}) };
  let redis;
  let jobs;
  try {
    const file = opts.jobsFile ?? env.CLASSROOM_SCHEDULER_JOBS_FILE;
    if (!file) throw new JobConfigError("--jobs-file: required (or set CLASSROOM_SCHEDULER_JOBS_FILE)");
    jobs = loadJobsFile(file, opts.jobsFile ? "--jobs-file" : "CLASSROOM_SCHEDULER_JOBS_FILE");
    redis = createRedis(redisFromEnv(env).options, "scheduler-status");
  } catch (err) {
    if (err instanceof JobConfigError) {
      console.error(`scheduler:status: ${err.message}`);
      return 2;
    }
    throw err;
  }
  try {
    await redis.connect();
    const status = await readStatus(redis, jobs, opts.keyPrefix ?? env.CLASSROOM_SCHEDULER_KEY_PREFIX ?? "classroom:scheduler", opts.runs);
    console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return 0;
  } catch (err) {
    console.error(`scheduler:status: cannot read Redis: ${(err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

main(process.argv).then((code) => process.exit(code));
