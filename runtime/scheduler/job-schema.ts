import { z } from "zod";
import { cronProblem } from "./schedule";

/**
 * One scheduled job as declared in a stack file under `classroom:scheduler.jobs.<name>`.
 * The lead's infra/config.ts embeds `jobsSchema` there, so every issue path starts with the job name
 * and a bad cron expression reads as `<name>.schedule.cron: invalid cron expression '…': <reason>`.
 */

/** Six-field cron: second minute hour day-of-month month day-of-week, e.g. "*\/5 * * * * *". */
export const cronScheduleSchema = z.strictObject({
  cron: z.string().describe("Six fields with seconds; five-field (minute) patterns are rejected to avoid reading them as seconds"),
  timezone: z.string().optional().describe("IANA time zone the pattern is read in. Default 'UTC'"),
});

/** Fixed rate: fires at every multiple of `everyMs` since the Unix epoch, so every replica computes the same instants. */
export const rateScheduleSchema = z.strictObject({
  everyMs: z.number().int().min(100).describe("Period in milliseconds, at least 100"),
});

export const scheduleSchema = z.union([cronScheduleSchema, rateScheduleSchema], {
  error: "expected exactly one of { cron: '<six fields>', timezone?: '<IANA zone>' } or { everyMs: <integer >= 100> }",
});

export const blockStrategies = ["serial", "discard-later", "cover-earlier"] as const;
export const misfireStrategies = ["skip", "fire-once"] as const;
export const routingStrategies = ["first", "round-robin", "random", "failover"] as const;
export const httpMethods = ["POST", "PUT", "GET"] as const;

/** An HTTP trigger sent to a classroom service inside the cluster. */
export const httpTargetSchema = z.strictObject({
  http: z
    .strictObject({
      service: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes Service name (lowercase letters, digits, '-')")
        .describe("Kubernetes Service name of the classroom service, e.g. 'room-api'"),
      path: z.string().startsWith("/", "must start with '/'").describe("Request path, e.g. '/internal/sweep'"),
      port: z
        .number()
        .int()
        .min(1)
        .max(65535)
        .optional()
        .describe("Port to call. Default: the port the stack declares for the service (80 when the scheduler runs without a stack)"),
      method: z.enum(httpMethods).optional().describe("HTTP method. Default 'POST'"),
      routing: z.enum(routingStrategies).optional().describe("How to pick among the service's endpoints. Default 'round-robin'"),
    })
    .describe("A request to a classroom service inside the cluster"),
});

/** An in-process handler registered with the scheduler daemon (see handlers.ts). */
export const handlerTargetSchema = z.strictObject({
  handler: z.string().min(1).describe("Name of a registered handler, e.g. 'attendance-sweep'"),
});

export const targetSchema = z.union([httpTargetSchema, handlerTargetSchema], {
  error: "expected exactly one of { http: { service, path, port?, method?, routing? } } or { handler: '<name>' }",
});

const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

export const jobSchema = z
  .strictObject({
    schedule: scheduleSchema.describe("When the job fires: { cron } (six fields, seconds first) or { everyMs }"),
    target: targetSchema.describe("What a fire runs: { http: { service, path, ... } } or { handler }"),
    block: z.enum(blockStrategies).optional().describe("What a fire does while the previous run of the job is still running anywhere. Default 'serial'"),
    misfire: z.enum(misfireStrategies).optional().describe("What happens to fires that could not start within misfireThresholdMs. Default 'skip'"),
    misfireThresholdMs: z
      .number()
      .int()
      .min(100)
      .optional()
      .describe("How late a fire may start before it counts as misfired. Default 5000 (XXL-Job's pre-read window)"),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Deadline of one attempt; the handler's AbortSignal fires and the HTTP request is aborted. Default 60000"),
    retries: z.number().int().min(0).max(10).optional().describe("Extra attempts after a failed or timed-out one. Default 0"),
    retryBackoffMs: z.number().int().min(0).optional().describe("Wait before the first retry; doubles per retry, capped at 60 s. Default 1000"),
    params: z.record(z.string(), jsonValue).optional().describe("Arbitrary JSON passed to the handler and sent as params in the HTTP body. Default {}"),
    enabled: z.boolean().optional().describe("Disabled jobs are validated but never fire. Default true"),
    description: z.string().optional().describe("Free text shown by the status command"),
  })
  .superRefine((job, ctx) => {
    if (!("cron" in job.schedule)) return;
    const problem = cronProblem(job.schedule.cron, job.schedule.timezone);
    if (problem) {
      ctx.addIssue({ code: "custom", path: ["schedule", problem.field], message: problem.message });
    }
  });

/** Job names become Redis keys and label values, hence a DNS label's rule. */
export const jobNameRule = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";

/** All jobs of a stack: job name -> job. */
export const jobsSchema = z.record(
  z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .max(63),
  jobSchema,
  {
    // zod's own words for a bad record key are "Invalid key in record": say which name and the rule.
    error: (issue) => (issue.code === "invalid_key" ? `invalid job name ${JSON.stringify(issue.input)}: job names are ${jobNameRule}` : undefined),
  },
);

export type JobSpec = z.infer<typeof jobSchema>;
export type JobsSpec = z.infer<typeof jobsSchema>;
export type BlockStrategy = (typeof blockStrategies)[number];
export type MisfireStrategy = (typeof misfireStrategies)[number];
export type RoutingStrategy = (typeof routingStrategies)[number];

/** A job with every default applied once, as the scheduler uses it. */
export interface Job {
  name: string;
  schedule: { cron: string; timezone: string } | { everyMs: number };
  target:
    | { kind: "http"; service: string; path: string; port: number; method: (typeof httpMethods)[number]; routing: RoutingStrategy }
    | { kind: "handler"; handler: string };
  block: BlockStrategy;
  misfire: MisfireStrategy;
  misfireThresholdMs: number;
  timeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  params: Record<string, unknown>;
  enabled: boolean;
  description?: string;
}

export function withDefaults(name: string, spec: JobSpec): Job {
  const target: Job["target"] =
    "http" in spec.target
      ? {
          kind: "http",
          service: spec.target.http.service,
          path: spec.target.http.path,
          port: spec.target.http.port ?? 80,
          method: spec.target.http.method ?? "POST",
          routing: spec.target.http.routing ?? "round-robin",
        }
      : { kind: "handler", handler: spec.target.handler };
  return {
    name,
    schedule: "cron" in spec.schedule ? { cron: spec.schedule.cron, timezone: spec.schedule.timezone ?? "UTC" } : { everyMs: spec.schedule.everyMs },
    target,
    block: spec.block ?? "serial",
    misfire: spec.misfire ?? "skip",
    misfireThresholdMs: spec.misfireThresholdMs ?? 5000,
    timeoutMs: spec.timeoutMs ?? 60_000,
    retries: spec.retries ?? 0,
    retryBackoffMs: spec.retryBackoffMs ?? 1000,
    params: spec.params ?? {},
    enabled: spec.enabled ?? true,
    description: spec.description,
  };
}

/** Formats zod issues as `<prefix>.<path>: <message>` lines, the way every config error in the platform reads. */
export function formatIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
      return `${path}: ${issue.message}`;
    })
    .join("\n");
}

/** Parses a jobs document (the JSON the daemon mounts) into jobs with defaults, or throws one readable error. */
export function parseJobs(document: unknown, source = "jobs"): Job[] {
  const result = jobsSchema.safeParse(document);
  if (!result.success) throw new JobConfigError(`${source} is not a valid jobs document:\n${formatIssues(result.error, "jobs")}`);
  return Object.entries(result.data).map(([name, spec]) => withDefaults(name, spec));
}

/** A configuration error: printed without a stack trace by the daemon and the CLI. */
export class JobConfigError extends Error {}
