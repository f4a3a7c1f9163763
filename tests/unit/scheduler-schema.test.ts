import { z } from "zod";
import { formatIssues, jobSchema, jobsSchema, parseJobs } from "../../runtime/scheduler/job-schema";

const sweep = { schedule: { cron: "*/5 * * * * *" }, target: { http: { service: "room-api", path: "/internal/sweep" } } };

describe("scheduler job schema (the stack file contract)", () => {
  it("accepts a six-field cron job with an HTTP target and a fixed-rate job with a handler target", () => {
    expect(jobSchema.safeParse(sweep).success).toBe(true);
    expect(
      jobSchema.safeParse({ schedule: { everyMs: 1000 }, target: { handler: "attendance-sweep" }, block: "cover-earlier", misfire: "fire-once" }).success,
    ).toBe(true);
  });

  it("applies the documented defaults once", () => {
    const [job] = parseJobs({ sweep });
    expect(job).toMatchObject({
      name: "sweep",
      schedule: { cron: "*/5 * * * * *", timezone: "UTC" },
      target: { kind: "http", service: "room-api", path: "/internal/sweep", port: 80, method: "POST", routing: "round-robin" },
      block: "serial",
      misfire: "skip",
      misfireThresholdMs: 5000,
      timeoutMs: 60_000,
      retries: 0,
      retryBackoffMs: 1000,
      enabled: true,
    });
  });

  it("rejects a bad cron expression at <job>.schedule.cron with the expression and the reason", () => {
    const result = jobsSchema.safeParse({ "room-sweep": { ...sweep, schedule: { cron: "61 * * * * *" } } });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0];
    expect(issue.path).toEqual(["room-sweep", "schedule", "cron"]);
    expect(issue.message).toBe("invalid cron expression '61 * * * * *': Invalid value for second: 61");
  });

  it("rejects five-field (minute) cron so that a pattern is never read at the wrong granularity", () => {
    const result = jobSchema.safeParse({ ...sweep, schedule: { cron: "*/5 * * * *" } });
    expect(result.error!.issues[0].message).toBe(
      "invalid cron expression '*/5 * * * *': expected 6 fields (second minute hour day-of-month month day-of-week), got 5",
    );
  });

  it("rejects a cron expression that can never fire, and an unknown time zone", () => {
    const never = jobSchema.safeParse({ ...sweep, schedule: { cron: "0 0 0 31 2 *" } });
    expect(never.error!.issues[0].message).toMatch(/invalid cron expression '0 0 0 31 2 \*': it never fires/);
    const zone = jobSchema.safeParse({ ...sweep, schedule: { cron: "0 * * * * *", timezone: "Mars/Olympus" } });
    expect(zone.error!.issues[0].path).toEqual(["schedule", "timezone"]);
    expect(zone.error!.issues[0].message).toMatch(/unknown time zone 'Mars\/Olympus'/);
  });

  it("is strict: unknown keys are rejected where they appear", () => {
    const result = jobSchema.safeParse({ ...sweep, blcok: "serial", target: { http: { ...sweep.target.http, rounting: "first" } } });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    expect(paths).toContain("");
    expect(JSON.stringify(result.error!.issues)).toMatch(/blcok/);
  });

  it("says which shapes a schedule and a target may take when neither fits", () => {
    const both = jobSchema.safeParse({ schedule: { cron: "* * * * * *", everyMs: 1000 }, target: { handler: "h", http: { service: "a", path: "/x" } } });
    expect(both.error!.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["schedule", "expected exactly one of { cron: '<six fields>', timezone?: '<IANA zone>' } or { everyMs: <integer >= 100> }"],
      ["target", "expected exactly one of { http: { service, path, port?, method?, routing? } } or { handler: '<name>' }"],
    ]);
  });

  it("names the allowed values of enums", () => {
    const result = jobSchema.safeParse({ ...sweep, block: "queue" });
    expect(result.error!.issues[0].path).toEqual(["block"]);
    expect(result.error!.issues[0].message).toMatch(/serial.*discard-later.*cover-earlier/);
  });

  it("embeds in a larger config and keeps the job name in the issue path", () => {
    const stack = z.object({ scheduler: z.object({ jobs: jobsSchema }) });
    const result = stack.safeParse({ scheduler: { jobs: { reminders: { ...sweep, schedule: { cron: "* * *" } } } } });
    expect(formatIssues(result.error!, "classroom:")).toMatch(
      /^classroom:\.scheduler\.jobs\.reminders\.schedule\.cron: invalid cron expression '\* \* \*': expected 6 fields/,
    );
  });

  it("rejects job names that cannot be Redis keys and labels, stating the rule, and periods below 100 ms", () => {
    for (const name of ["Room Sweep", "-sweep", "a".repeat(64)]) {
      expect(() => parseJobs({ [name]: sweep }, "jobs.json")).toThrow(
        `jobs.json is not a valid jobs document:\njobs.${name}: invalid job name '${name}': job names are 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`.replace(
          `'${name}'`,
          JSON.stringify(name),
        ),
      );
    }
    const fast = jobSchema.safeParse({ schedule: { everyMs: 10 }, target: { handler: "x" } });
    expect(fast.success).toBe(false);
  });

  it("parseJobs throws one readable error listing every problem", () => {
    expect(() => parseJobs({ a: { ...sweep, schedule: { cron: "x" } }, b: { target: { handler: "h" } } }, "jobs.json")).toThrow(
      /jobs.json is not a valid jobs document:\njobs\.a\.schedule\.cron: invalid cron expression 'x'.*\njobs\.b\.schedule: /s,
    );
  });
});
