/**
 * The caller's side of `bench:registrar`, in its own process: one discovery watcher (runtime/discovery, what
 * an rpc caller uses) per service, reporting every instance that appears or leaves with the wall-clock time
 * the watcher's view changed. Lines on stdout:
 *
 *   {"ev":"full"}                       every service shows BENCH_ENDPOINTS instances (the initial sync)
 *   c <wall ms> <service index> <+|-><instance id> <registeredAt>   after {"op":"measure"}
 *   {"ev":"dump","ids":[[...],...]}     after {"op":"dump"}: every service's instance ids
 *   {"ev":"stats","eventLoop":{...}}    after {"op":"stats"}
 *
 * Env: BENCH_CONNECT, BENCH_ROOT, BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_PREFIX (service name prefix).
 */
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { EventLoopProbe } from "./event-loop";

const SERVICES = Number(process.env.BENCH_SERVICES);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS);
const serviceName = (s: number) => `${process.env.BENCH_PREFIX}-${String(s).padStart(3, "0")}-rpc`;
const wallMs = () => performance.timeOrigin + performance.now();
const probe = new EventLoopProbe();
const say = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);

const registry = new ServiceRegistry({ connect: process.env.BENCH_CONNECT!, root: process.env.BENCH_ROOT!, sessionTimeoutMs: 20_000, logger: silentLogger });
let measuring = false;
let out: string[] = [];
const watches: WatchHandle[] = [];
for (let s = 0; s < SERVICES; s++) {
  const w = registry.watch(serviceName(s), { dnsFallback: false });
  w.on("change", (c) => {
    if (!measuring) return;
    const at = wallMs().toFixed(2);
    for (const i of c.added) out.push(`c ${at} ${s} +${i.id} ${i.registeredAt ?? ""}`);
    for (const i of c.removed) out.push(`c ${at} ${s} -${i.id} ${i.registeredAt ?? ""}`);
  });
  watches.push(w);
}
// Reports leave in batches (one write per 5 ms at most) so the reporting costs this process little.
setInterval(() => {
  if (out.length === 0) return;
  process.stdout.write(`${out.join("\n")}\n`);
  out = [];
}, 5);

const fullTimer = setInterval(() => {
  if (!watches.every((w) => w.current().length === ENDPOINTS)) return;
  clearInterval(fullTimer);
  say({ ev: "full" });
}, 50);

readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    const msg = JSON.parse(line);
    if (msg.op === "measure") {
      measuring = true;
      probe.reset();
    } else if (msg.op === "dump") {
      say({ ev: "dump", ids: watches.map((w) => w.current().map((i) => i.id)) });
    } else if (msg.op === "stats") {
      say({ ev: "stats", eventLoop: probe.summary() });
    }
  })
  .on("close", () => {
    void registry.close().finally(() => process.exit(0));
  });
