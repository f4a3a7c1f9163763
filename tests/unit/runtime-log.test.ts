import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { createLogger } from "../../runtime/log";

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  return { stream, lines };
}

const fixedNow = () => new Date("2026-12-02T10:00:00.000Z");

describe("the runtime's structured logger", () => {
  it("writes one JSON object per line: time, level, component, event, then the fields", () => {
    const { stream, lines } = capture();
    createLogger({ component: "scheduler", stream, file: null, now: fixedNow }).info("fire", { job: "sweep", lagMs: 3 });
    expect(lines).toEqual(['{"time":"2026-12-02T10:00:00.000Z","level":"info","component":"scheduler","event":"fire","job":"sweep","lagMs":3}']);
  });

  it("appends the same lines to the per-pod log file, continuing a file a previous container wrote", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-"));
    const file = path.join(dir, "scheduler-abc_0f7c.log");
    fs.writeFileSync(file, '{"event":"from the previous container"}\n');
    const { stream, lines } = capture();
    const log = createLogger({ component: "mq-replayer", stream, env: { CLASSROOM_LOG_FILE: file }, now: fixedNow });
    log.warn("lease lost", { shard: 3 });
    log.error("kafka down", { error: new Error("ECONNREFUSED") });
    const written = fs.readFileSync(file, "utf8").trim().split("\n");
    expect(written[0]).toBe('{"event":"from the previous container"}');
    expect(written.slice(1)).toEqual(lines);
    expect(JSON.parse(written[2]).error).toEqual({ message: "ECONNREFUSED" });
  });

  it("drops lines below the level from CLASSROOM_LOG_LEVEL", () => {
    const { stream, lines } = capture();
    const log = createLogger({ component: "discovery", stream, file: null, env: { CLASSROOM_LOG_LEVEL: "warn" } });
    log.info("watch started");
    log.warn("serving last known list");
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(["serving last known list"]);
  });

  it("binds fields for a child (a replica, a shard) on every line", () => {
    const { stream, lines } = capture();
    createLogger({ component: "scheduler", stream, file: null }).child({ replica: "r-1" }).info("started");
    expect(JSON.parse(lines[0])).toMatchObject({ event: "started", replica: "r-1" });
  });

  it("keeps logging to stdout when the log file cannot be written, and says so once", () => {
    const { stream, lines } = capture();
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const log = createLogger({ component: "scheduler", stream, file: "/nonexistent-dir/x.log" });
      log.info("one");
      log.info("two");
      expect(lines.map((l) => JSON.parse(l).event)).toEqual(["one", "two"]);
      expect(stderr).toHaveBeenCalledTimes(1);
      expect(String(stderr.mock.calls[0][0])).toMatch(/"event":"log file unwritable"/);
    } finally {
      stderr.mockRestore();
    }
  });
});
