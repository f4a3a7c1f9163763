import * as http from "node:http";
import Redis from "ioredis";
import { freePort } from "../harness/ports";
import { RedisServer } from "../harness/redis";
import { RunHistory } from "../../runtime/scheduler/history";
import type { JobsSpec } from "../../runtime/scheduler/job-schema";
import { SchedulerReplicas } from "../support/scheduler/replicas";

/**
 * HTTP triggers from a real daemon to real HTTP servers standing in for a classroom service's pods
 * (CLASSROOM_SCHEDULER_ENDPOINTS replaces cluster DNS). One replica, so round-robin is one sequence.
 */
jest.setTimeout(90_000);

interface Hit {
  server: string;
  job: string;
  token: number;
  fire: number;
  attempt: number;
  body: any;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("scheduler HTTP triggers and routing", () => {
  let server: RedisServer;
  let redis: Redis;
  let replicas: SchedulerReplicas | undefined;
  const servers: http.Server[] = [];
  const hits: Hit[] = [];
  const url: Record<string, string> = {};

  async function pod(name: string, status: number): Promise<void> {
    const s = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        hits.push({
          server: name,
          job: String(req.headers["x-classroom-job"]),
          token: Number(req.headers["x-classroom-fencing-token"]),
          fire: Number(req.headers["x-classroom-fire-time"]),
          attempt: Number(req.headers["x-classroom-attempt"]),
          body: body ? JSON.parse(body) : undefined,
        });
        res.writeHead(status).end(status === 200 ? "ok" : `status ${status}`);
      });
    });
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    servers.push(s);
    url[name] = `http://127.0.0.1:${(s.address() as any).port}`;
  }

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url);
    for (const name of ["s1", "s2", "s3"]) await pod(name, 200);
    await pod("busy", 503);
    await pod("broken", 500);
    url.dead = `http://127.0.0.1:${await freePort()}`;
    const three = [url.s1, url.s2, url.s3];
    const endpoints = { pods: three, "failover-pods": [url.dead, url.busy, url.s2], "broken-pods": [url.broken] };
    const job = (service: string, routing: string, extra: object = {}) => ({
      schedule: { everyMs: 500 },
      target: { http: { service, path: "/internal/tick", routing } },
      params: { room: 42 },
      ...extra,
    });
    const jobs = {
      rr: job("pods", "round-robin"),
      first: job("pods", "first"),
      random: job("pods", "random"),
      failover: job("failover-pods", "failover"),
      broken: job("broken-pods", "first", { retries: 1, retryBackoffMs: 50 }),
    } as JobsSpec;
    replicas = await SchedulerReplicas.start({ redisUrl: server.url, ids: ["r1"], jobs, env: { CLASSROOM_SCHEDULER_ENDPOINTS: JSON.stringify(endpoints) } });
    await sleep(4200);
    await replicas.get("r1").stop();
  });

  afterAll(async () => {
    await replicas?.stopAll();
    for (const s of servers) await new Promise((r) => s.close(r));
    redis?.disconnect();
    await server?.destroy();
  });

  const of = (job: string) => hits.filter((h) => h.job === job).sort((a, b) => a.fire - b.fire || a.attempt - b.attempt);

  it("round-robin cycles through the endpoints fire by fire", () => {
    const servers = of("rr").map((h) => h.server);
    expect(servers.length).toBeGreaterThanOrEqual(6);
    servers.forEach((s, i) => expect(s).toBe(servers[i % 3]));
    expect(new Set(servers.slice(0, 3))).toEqual(new Set(["s1", "s2", "s3"]));
  });

  it("first always calls the first endpoint; random spreads over them", () => {
    expect(new Set(of("first").map((h) => h.server))).toEqual(new Set(["s1"]));
    expect(new Set(of("random").map((h) => h.server)).size).toBeGreaterThanOrEqual(2);
  });

  it("failover skips an unreachable endpoint and one answering 503, in order", () => {
    const tries = of("failover");
    const served = tries.filter((h) => h.server === "s2");
    expect(served.length).toBeGreaterThanOrEqual(6);
    expect(tries.filter((h) => h.server === "busy").length).toBe(served.length);
    expect(tries.every((h) => h.server === "s2" || h.server === "busy")).toBe(true);
  });

  it("every request carries the job, the fire time and the run's fencing token", () => {
    const rr = of("rr");
    for (const h of rr) {
      expect(h.fire % 500).toBe(0);
      expect(h.body).toEqual({
        job: "rr",
        fireTime: new Date(h.fire).toISOString(),
        fireTimeMs: h.fire,
        fencingToken: h.token,
        attempt: 1,
        params: { room: 42 },
      });
    }
    const tokens = rr.map((h) => h.token);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it("an HTTP error fails the attempt, is retried, and is recorded with the endpoint and status", async () => {
    const calls = of("broken");
    expect(calls.filter((h) => h.attempt === 2).length).toBeGreaterThanOrEqual(1);
    const entries = await new RunHistory(redis, "classroom:scheduler").recent("broken", 100);
    const failed = entries.filter((e) => e.outcome === "failed");
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(failed[0]).toMatchObject({ attempts: 2, endpoint: url.broken });
    expect(failed[0].error).toBe(`${url.broken}/internal/tick: HTTP 500 status 500`);
    const served = (await new RunHistory(redis, "classroom:scheduler").recent("rr", 100)).filter((e) => e.outcome === "succeeded");
    expect(served.every((e) => [url.s1, url.s2, url.s3].includes(e.endpoint!))).toBe(true);
  });
});
