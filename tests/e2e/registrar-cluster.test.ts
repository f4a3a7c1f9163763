import * as fs from "node:fs";
import * as path from "node:path";
import * as zookeeper from "node-zookeeper-client";
import { ServiceRegistry, silentLogger } from "../../runtime/discovery";
import { KubeClient, statusMessage } from "../../tools/cluster/kube-client";
import { readKubeconfig } from "../../tools/cluster/kubeconfig";
import { addToReaper, startDetached, stopProcess } from "../../tools/cluster/processes";
import { TestCluster, startTestCluster } from "../harness/cluster";
import { ManagedProcess } from "../harness/process";
import { ZooKeeperServer, closeRawClient, connectRawClient, zkCall } from "../harness/zookeeper";
import { TestEndpoint, endpointSlice, endpoints, trackService } from "../support/registrar/objects";

// Two registrar daemons (child processes, as in their pods) on the real local control plane and a real
// ZooKeeper: EndpointSlices and Services are written through the API server (selector-less Services and
// slices with our own managed-by label, so kube-controller-manager leaves them alone).

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, "../..");
const NS = "registrar-e2e";
const LEASE_MS = 3_000;
const RETRY_MS = 500;

let cluster: TestCluster;
let zk: ZooKeeperServer;
let kube: KubeClient;
let raw: zookeeper.Client;
const daemons = new Map<string, ManagedProcess>();
let seq = 0;

function startDaemon(identity: string, root: string, stateRoot: string): ManagedProcess {
  // One process, as in the pod (tsx's CLI would run the daemon in a child that a SIGKILL of the CLI leaves alive).
  const p = ManagedProcess.start(identity, process.execPath, ["--import", "tsx", "runtime/registrar/registrar-main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: cluster.kubeconfigPath,
      CLASSROOM_REGISTRY_CONNECT: zk.connectString,
      CLASSROOM_REGISTRY_ROOT: root,
      CLASSROOM_REGISTRAR_STATE_ROOT: stateRoot,
      CLASSROOM_REGISTRAR_NAMESPACE: NS,
      CLASSROOM_REGISTRAR_LEASE_NAME: `lease-${stateRoot.split("/")[1]}`,
      CLASSROOM_REGISTRAR_LEASE_DURATION_MS: String(LEASE_MS),
      CLASSROOM_REGISTRAR_RENEW_DEADLINE_MS: "2000",
      CLASSROOM_REGISTRAR_RETRY_PERIOD_MS: String(RETRY_MS),
      POD_NAME: identity,
      CLASSROOM_LOG_LEVEL: "info",
    },
  });
  daemons.set(identity, p);
  return p;
}

async function apply(obj: any): Promise<void> {
  const body = JSON.parse(JSON.stringify(obj));
  delete body.metadata.resourceVersion;
  const plural = obj.kind === "Service" ? "services" : "endpointslices";
  const base = obj.kind === "Service" ? `/api/v1/namespaces/${NS}` : `/apis/discovery.k8s.io/v1/namespaces/${NS}`;
  const res = await kube.request("PATCH", `${base}/${plural}/${obj.metadata.name}?fieldManager=registrar-e2e&force=true`, body, "application/apply-patch+yaml");
  if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: ${statusMessage(res)}`);
}

async function remove(kind: "Service" | "EndpointSlice", name: string): Promise<void> {
  const pathOf = kind === "Service" ? `/api/v1/namespaces/${NS}/services/${name}` : `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/${name}`;
  const res = await kube.request("DELETE", pathOf);
  if (res.status >= 300 && res.status !== 404) throw new Error(`delete ${kind} ${name}: ${statusMessage(res)}`);
}

async function leaseHolder(name: string): Promise<string | undefined> {
  const res = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`);
  return res.status === 200 ? res.body.spec?.holderIdentity || undefined : undefined;
}

async function children(p: string): Promise<string[]> {
  try {
    return (await zkCall<string[]>((cb) => raw.getChildren(p, cb))).sort();
  } catch {
    return [];
  }
}

/** creation zxid of each node under a service: a node deleted and re-created gets a new one. */
async function czxids(root: string, service: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of await children(`${root}/${service}`)) {
    const stat = await zkCall<zookeeper.Stat | null>((cb) => raw.exists(`${root}/${service}/${id}`, cb)).catch(() => null);
    if (stat) out.set(id, stat.czxid.toString("hex"));
  }
  return out;
}

async function eventually(check: () => Promise<boolean>, describe: () => Promise<string>, timeoutMs = 30_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(
        `not true within ${timeoutMs} ms: ${await describe()}\n${[...daemons.values()].map((d) => `--- ${d.name}\n${d.log.slice(-3000)}`).join("\n")}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

/** A ledger entry is `<id>@<content hash>`. */
const ledgerId = (entry: string) => entry.slice(0, entry.lastIndexOf("@"));
const readyPods = (eps: TestEndpoint[]) =>
  eps
    .filter((e) => (e.ready ?? true) && !e.terminating)
    .map((e) => e.pod)
    .sort();

function roots() {
  const n = ++seq;
  return { root: `/e2e${n}/services`, stateRoot: `/e2e${n}-registrar/state`, lease: `lease-e2e${n}-registrar` };
}

beforeAll(async () => {
  [cluster, zk] = await Promise.all([startTestCluster(), ZooKeeperServer.start()]);
  kube = new KubeClient(readKubeconfig(cluster.kubeconfigPath));
  const ns = await kube.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  if (ns.status >= 300) throw new Error(statusMessage(ns));
  raw = await connectRawClient(zk.connectString);
});

afterEach(async () => {
  await Promise.all([...daemons.values()].map((d) => d.stop()));
  daemons.clear();
});

afterAll(async () => {
  if (raw) await closeRawClient(raw);
  kube?.close();
  await Promise.all([cluster?.stop(), zk?.destroy()]);
});

it("mirrors readiness flips, a scale burst, a weight step and a track removal written through the API server", async () => {
  const r = roots();
  let stable = endpoints("flip-rpc", "stable", 4);
  const canary = endpoints("flip-rpc", "canary", 2, 2);
  await apply(trackService("flip-rpc", "stable", 100, NS));
  await apply(trackService("flip-rpc", "canary", 10, NS));
  await apply(endpointSlice("flip-rpc-stable", "flip-rpc-stable-a", stable, { namespace: NS }));
  await apply(endpointSlice("flip-rpc-canary", "flip-rpc-canary-a", canary, { namespace: NS }));
  startDaemon("flip-0", r.root, r.stateRoot);
  startDaemon("flip-1", r.root, r.stateRoot);
  const watcher = new ServiceRegistry({ connect: zk.connectString, root: r.root, sessionTimeoutMs: 10_000, logger: silentLogger });
  try {
    const watch = watcher.watch("flip-rpc");
    const view = () =>
      watch
        .current()
        .map((i) => `${i.id}:${i.track}:${i.weight}`)
        .sort();
    const want = (w: number) => [...readyPods(stable).map((p) => `${p}:stable:100`), ...(w < 0 ? [] : readyPods(canary).map((p) => `${p}:canary:${w}`))].sort();
    await eventually(
      async () => JSON.stringify(view()) === JSON.stringify(want(10)),
      async () => `${view()} vs ${want(10)}`,
    );

    stable = stable.map((e, i) => ({ ...e, ready: i !== 1 }));
    await apply(endpointSlice("flip-rpc-stable", "flip-rpc-stable-a", stable, { namespace: NS }));
    await eventually(
      async () => JSON.stringify(view()) === JSON.stringify(want(10)),
      async () => `${view()} vs ${want(10)}`,
    );

    for (let n = 10; n <= 60; n += 10) {
      stable = endpoints("flip-rpc", "stable", n);
      await apply(endpointSlice("flip-rpc-stable", "flip-rpc-stable-a", stable, { namespace: NS }));
    }
    await eventually(
      async () => JSON.stringify(view()) === JSON.stringify(want(10)),
      async () => `${view().length} vs ${want(10).length}`,
    );

    await apply(trackService("flip-rpc", "canary", 40, NS));
    await eventually(
      async () => JSON.stringify(view()) === JSON.stringify(want(40)),
      async () => `${view()} vs ${want(40)}`,
    );

    await remove("Service", "flip-rpc-canary");
    await eventually(
      async () => JSON.stringify(view()) === JSON.stringify(want(-1)),
      async () => `${view()} vs ${want(-1)}`,
    );
    expect((await children(`${r.stateRoot}/owned/flip-rpc`)).map(ledgerId).sort()).toEqual(readyPods(stable));
  } finally {
    await watcher.close();
  }
});

it("SIGKILL of the leader: no node of a live endpoint is deleted, the standby takes over within the lease and removes what went meanwhile", async () => {
  const r = roots();
  let eps = endpoints("kill-rpc", "stable", 20, 3);
  await apply(trackService("kill-rpc", "stable", 100, NS));
  await apply(endpointSlice("kill-rpc-stable", "kill-rpc-stable-a", eps, { namespace: NS }));
  startDaemon("kill-0", r.root, r.stateRoot);
  startDaemon("kill-1", r.root, r.stateRoot);
  await eventually(
    async () => JSON.stringify(await children(`${r.root}/kill-rpc`)) === JSON.stringify(readyPods(eps)),
    async () => `${await children(`${r.root}/kill-rpc`)}`,
  );
  let holder: string | undefined;
  await eventually(
    async () => (holder = await leaseHolder(r.lease)) !== undefined,
    async () => "no lease holder",
  );
  const before = await czxids(r.root, "kill-rpc");

  const killedAt = Date.now();
  await daemons.get(holder!)!.kill();
  // Endpoints change while nobody leads: 5 go.
  eps = eps.slice(5);
  await apply(endpointSlice("kill-rpc-stable", "kill-rpc-stable-a", eps, { namespace: NS }));
  const standby = holder === "kill-0" ? "kill-1" : "kill-0";
  await eventually(
    async () => (await leaseHolder(r.lease)) === standby,
    async () => `holder ${await leaseHolder(r.lease)}`,
    20_000,
  );
  const takeoverMs = Date.now() - killedAt;
  // client-go semantics: the standby waits one lease duration from the last renewal it saw, plus a retry.
  expect(takeoverMs).toBeLessThan(LEASE_MS + 3 * RETRY_MS + 2_000);
  await eventually(
    async () => JSON.stringify(await children(`${r.root}/kill-rpc`)) === JSON.stringify(readyPods(eps)),
    async () => `${await children(`${r.root}/kill-rpc`)}`,
    LEASE_MS + 10_000,
  );

  // The killed process's ZooKeeper session expires one session timeout (15 s) after its death: an
  // ephemeral node would vanish only then, so look after that.
  await new Promise((res) => setTimeout(res, Math.max(0, killedAt + 17_000 - Date.now())));
  expect(await children(`${r.root}/kill-rpc`)).toEqual(readyPods(eps));
  const after = await czxids(r.root, "kill-rpc");
  for (const pod of readyPods(eps)) expect([pod, after.get(pod)]).toEqual([pod, before.get(pod)]);
});

it("restarts of the API server and of ZooKeeper mid-stream converge with nothing left behind; self-registered nodes stay", async () => {
  const r = roots();
  const self = new ServiceRegistry({ connect: zk.connectString, root: r.root, sessionTimeoutMs: 20_000, logger: silentLogger });
  try {
    await self.register("churn-rpc", { id: "vm-agent-7", host: "192.168.7.7", port: 9090 });
    let eps = endpoints("churn-rpc", "stable", 30, 4);
    await apply(trackService("churn-rpc", "stable", 100, NS));
    await apply(endpointSlice("churn-rpc-stable", "churn-rpc-stable-a", eps, { namespace: NS }));
    startDaemon("churn-0", r.root, r.stateRoot);
    startDaemon("churn-1", r.root, r.stateRoot);
    const nodes = () => children(`${r.root}/churn-rpc`);
    const want = () => [...readyPods(eps), "vm-agent-7"].sort();
    await eventually(
      async () => JSON.stringify(await nodes()) === JSON.stringify(want()),
      async () => `${await nodes()}`,
    );

    // The API server goes down and comes back on the same port and etcd; slices change around it.
    const apiserver = cluster.state.processes.find((p) => p.name === "kube-apiserver")!;
    const args = fs
      .readFileSync(`/proc/${apiserver.pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "")
      .slice(1);
    eps = eps.slice(0, 25);
    await apply(endpointSlice("churn-rpc-stable", "churn-rpc-stable-a", eps, { namespace: NS }));
    await stopProcess(apiserver, 5_000);
    const restarted = startDetached("kube-apiserver", apiserver.binary, args, apiserver.logFile);
    cluster.state.processes.splice(cluster.state.processes.indexOf(apiserver), 1, restarted);
    addToReaper(cluster.state.dir, restarted);
    await eventually(
      async () => (await kube.request("GET", "/readyz").catch(() => undefined))?.status === 200,
      async () => "api server not ready",
      90_000,
    );
    eps = [...eps.slice(3), ...endpoints("churn-rpc", "stable", 5, 4, 100)];
    await apply(endpointSlice("churn-rpc-stable", "churn-rpc-stable-a", eps, { namespace: NS }));
    await eventually(
      async () => JSON.stringify(await nodes()) === JSON.stringify(want()),
      async () => `${await nodes()} vs ${want()}`,
      60_000,
    );

    // ZooKeeper restarts while slices change.
    const restart = zk.restart();
    eps = eps.slice(4);
    await apply(endpointSlice("churn-rpc-stable", "churn-rpc-stable-a", eps, { namespace: NS }));
    await restart;
    await closeRawClient(raw);
    raw = await connectRawClient(zk.connectString);
    await eventually(
      async () => JSON.stringify(await nodes()) === JSON.stringify(want()),
      async () => `${await nodes()} vs ${want()}`,
      60_000,
    );
    expect((await children(`${r.stateRoot}/owned/churn-rpc`)).map(ledgerId).sort()).toEqual(readyPods(eps));
  } finally {
    await self.close();
  }
});
