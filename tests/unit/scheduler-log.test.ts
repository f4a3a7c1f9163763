// The scheduler library logs through the runtime's one structured logger, also when the caller gives it
// no sink of its own (a service embedding the library): `event`, not a `message` field of its own format.
import type { Redis } from "ioredis";
import { createLogger } from "../../runtime/log";
import { Scheduler, schedulerLog } from "../../runtime/scheduler/scheduler";

function captured(run: () => void): Array<Record<string, unknown>> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("a Scheduler without a log option writes the runtime logger's lines: time, level, component, event, replica", () => {
  const redis = { defineCommand: () => undefined } as unknown as Redis;
  const lines = captured(() => {
    const scheduler = new Scheduler({ redis, subscriber: redis, jobs: [], replicaId: "r-1" });
    (scheduler as unknown as { log: (event: string, fields?: Record<string, unknown>) => void }).log("could not claim fires", { count: 2 });
  });
  expect(lines).toHaveLength(1);
  expect(Object.keys(lines[0]).slice(0, 4)).toEqual(["time", "level", "component", "event"]);
  expect(lines[0]).toMatchObject({ level: "error", component: "scheduler", event: "could not claim fires", replica: "r-1", count: 2 });
  expect(lines[0]).not.toHaveProperty("message");
});

test("schedulerLog picks the level from the event: failures are errors, losses and misfires warnings, the rest info", () => {
  const out: string[] = [];
  const logger = createLogger({
    component: "scheduler",
    stream: { write: (l: string) => out.push(l) } as unknown as NodeJS.WritableStream,
    file: null,
    level: "debug",
  });
  const log = schedulerLog("r-2", logger);
  log("redis error", {});
  log("recorded runs lost by their replica", { count: 1 });
  log("scheduler started");
  expect(out.map((l) => JSON.parse(l)).map((l) => [l.level, l.event, l.replica])).toEqual([
    ["error", "redis error", "r-2"],
    ["warn", "recorded runs lost by their replica", "r-2"],
    ["info", "scheduler started", "r-2"],
  ]);
});
