/**
 * The discovery runtime's watcher as a child process of `npm run bench:discovery`, speaking the same
 * line protocol as tests/bench/curator/CuratorCacheObserver.java: both observers run outside the
 * process that drives the churn, so neither pays for the other's work in its own event loop.
 *
 * argv:   <connect> <service>
 * stdin:  "start" (close any previous registry, open a new session and watch), "stats", "stop".
 * stdout: "ready <micros>", "view <micros> <crc>" after every change of the instance list,
 *         "stats <reads> <json>".
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { ServiceRegistry, WatchHandle, silentLogger } from "../../runtime/discovery";
import { viewCrc } from "./discovery-view";

const [connect, service] = process.argv.slice(2);
if (!connect || !service) {
  console.error("usage: discovery-observer.ts <connect> <service>");
  process.exit(2);
}

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
let registry: ServiceRegistry | undefined;
let watch: WatchHandle | undefined;
let lastCrc: string | undefined;

function publish(): void {
  const at = nowMicros();
  const crc = viewCrc(watch!.current());
  if (crc !== lastCrc) process.stdout.write(`view ${at} ${crc}\n`);
  lastCrc = crc;
}

async function start(): Promise<void> {
  watch?.close();
  await registry?.close();
  registry = new ServiceRegistry({ connect, sessionTimeoutMs: 15_000, logger: silentLogger });
  watch = registry.watch(service);
  watch.on("change", publish);
  await watch.ready();
  lastCrc = undefined;
  loopDelay.reset();
  loopDelay.enable();
  process.stdout.write(`ready ${nowMicros()}\n`);
  publish();
}

const ms = (ns: number) => Math.round(ns / 1e4) / 100;

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue
    .then(async () => {
      switch (line.trim()) {
        case "start":
          await start();
          break;
        case "stats": {
          const delay = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
          process.stdout.write(`stats ${registry?.stats().reads ?? 0} ${JSON.stringify({ eventLoopDelayMs: delay })}\n`);
          break;
        }
        case "stop":
          watch?.close();
          await registry?.close();
          process.exit(0);
      }
    })
    .catch((err) => {
      console.error(`discovery-observer: ${(err as Error).message}`);
      process.exit(3);
    });
});
lines.on("close", () => {
  void registry?.close().then(() => process.exit(0));
});
