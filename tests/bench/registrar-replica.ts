/**
 * One registrar replica of `bench:registrar` in its own process, as in its pod; or, with
 * BENCH_REPLICA_MODE=naive, the naive loop the registrar replaces. It is fed the Kubernetes objects as
 * JSON lines on stdin (what its informers would deliver) and answers on stdout, one JSON line each:
 *
 *   in:  {"op":"service"|"slice","obj":{...}}   {"op":"lead","identity":"..."}   {"op":"stats"}   {"op":"reset"} (answers stats)
 *        {"op":"die"} (prints its stats, then SIGKILLs itself: a crash with the counters saved)
 *   out: {"ev":"ready"}  {"ev":"leading"}  {"ev":"stats","writes":n,"reconciler":{...},"eventLoop":{...}}
 *
 * Env: BENCH_CONNECT, BENCH_ROOT, BENCH_STATE_ROOT, BENCH_REPLICA_MODE (registrar|naive).
 */
import * as readline from "node:readline";
import * as zookeeper from "node-zookeeper-client";
import { encodeNodeData, silentLogger } from "../../runtime/discovery";
import { ZkConnection } from "../../runtime/discovery/zk";
import { DesiredNode } from "../../runtime/registrar/desired";
import { KubeView } from "../../runtime/registrar/kube-view";
import { Registrar } from "../../runtime/registrar/registrar";
import { connectRawClient } from "../harness/zookeeper";
import { EventLoopProbe } from "./event-loop";

const connect = process.env.BENCH_CONNECT!;
const root = process.env.BENCH_ROOT!;
const stateRoot = process.env.BENCH_STATE_ROOT!;
const mode = process.env.BENCH_REPLICA_MODE ?? "registrar";
const probe = new EventLoopProbe();
const say = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);

interface Replica {
  upsertService(obj: any): void;
  upsertSlice(obj: any): void;
  lead(identity: string): Promise<void>;
  stats(): object;
}

function registrarReplica(): Replica {
  const r = new Registrar({ connect, root, stateRoot, sessionTimeoutMs: 20_000, logger: silentLogger });
  r.start();
  void r.connected().then(() => say({ ev: "ready" }));
  return {
    upsertService: (o) => r.upsertService(o),
    upsertSlice: (o) => r.upsertSlice(o),
    lead: (identity) => r.lead(identity),
    stats: () => ({ writes: r.zkStats.writes, reads: r.zkStats.reads, reconciler: r.reconciler.stats }),
  };
}

/** The baseline: every second, list every service directory and rewrite every node (create, setData, delete). */
function naiveReplica(): Replica {
  const view = new KubeView(silentLogger);
  const stats = { reads: 0, writes: 0 };
  let conn: ZkConnection | undefined;
  void connectRawClient(connect, { sessionTimeout: 20_000 }).then((client) => {
    conn = new ZkConnection(client, 1, stats);
    say({ ev: "ready" });
  });
  const pass = async (c: ZkConnection) => {
    await Promise.all(
      [...view.registryServices()].map(async (service) => {
        const dir = `${root}/${service}`;
        const desired: Map<string, DesiredNode> = view.desired(service);
        let children: string[] = [];
        try {
          children = (await c.getChildren(dir)).children;
        } catch {
          await c.mkdirp(dir).catch(() => undefined);
        }
        await Promise.all(
          [
            ...[...desired].map(([id, node]) => {
              const data = encodeNodeData({ ...node, registeredAt: new Date().toISOString() });
              return children.includes(id) ? c.setData(`${dir}/${id}`, data) : c.create(`${dir}/${id}`, data, zookeeper.CreateMode.PERSISTENT);
            }),
            ...children.filter((id) => !desired.has(id)).map((id) => c.remove(`${dir}/${id}`)),
          ].map((p) => p.catch(() => undefined)),
        );
      }),
    );
  };
  return {
    upsertService: (o) => view.upsertService(o),
    upsertSlice: (o) => view.upsertSlice(o),
    async lead() {
      while (!conn) await new Promise((r) => setTimeout(r, 50));
      const c = conn;
      void (async () => {
        for (;;) {
          const t = Date.now();
          await pass(c);
          await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - t))));
        }
      })();
    },
    stats: () => ({ writes: stats.writes, reads: stats.reads }),
  };
}

const replica = mode === "naive" ? naiveReplica() : registrarReplica();
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const msg = JSON.parse(line);
  switch (msg.op) {
    case "service":
      replica.upsertService(msg.obj);
      break;
    case "slice":
      replica.upsertSlice(msg.obj);
      break;
    case "lead":
      probe.reset();
      void replica.lead(msg.identity).then(() => say({ ev: "leading" }));
      break;
    case "reset":
      probe.reset();
      say({ ev: "stats", ...replica.stats(), eventLoop: probe.summary() });
      break;
    case "stats":
      say({ ev: "stats", ...replica.stats(), eventLoop: probe.summary() });
      break;
    case "die":
      // stdout is a pipe: on Linux the write is synchronous, so the counters are out before the kill.
      say({ ev: "stats", ...replica.stats(), eventLoop: probe.summary() });
      process.kill(process.pid, "SIGKILL");
      break;
    default:
      throw new Error(`unknown op ${msg.op}`);
  }
});
lines.on("close", () => process.exit(0));
