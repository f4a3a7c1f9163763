import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../net/ports";
import { ControlPlaneBinaries, controlPlaneBinaries } from "../toolchain/toolchain";
import { installCrds, readCrds } from "./crds";
import { KubeClient } from "./kube-client";
import { writeKubeconfig } from "./kubeconfig";
import { ControlPlanePki, createPki, servingCertificate } from "./pki";
import { TrackedProcess, isAlive, sleep, startDetached, addToReaper, startReaper, stopProcess, stopReaper, tailOf } from "./processes";
import { ControlPlaneState, readState, writeState } from "./state";

/** Options of startControlPlane. */
export interface StartOptions {
  /** Port of kube-apiserver on 127.0.0.1. Default: a free port. */
  apiserverPort?: number;
  /** Kill the processes once the calling node process is gone, however it ends (tests). Default false: they outlive it (`cluster up`). */
  stopOnExit?: boolean;
  /** Seconds to wait for each part to become ready. Default 90 (generous for a loaded 2-core machine). */
  readyTimeoutSeconds?: number;
  /** Pre-resolved binaries. Default: controlPlaneBinaries() (PATH at the exact version, else the cache). */
  binaries?: ControlPlaneBinaries;
}

/** A control plane failed to start; the message says which part and what it printed. */
export class ControlPlaneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlPlaneError";
  }
}

const CLUSTER_NAME = "classroom-local";

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on loopback with all state in a new temporary
 * folder, installs the Gateway API standard CRDs, and returns once they are Established and the
 * controller manager has created the `default` ServiceAccount. On any failure everything started so
 * far is stopped and the folder removed before the error is thrown.
 */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlaneState> {
  const bins = options.binaries ?? controlPlaneBinaries();
  const timeoutMs = (options.readyTimeoutSeconds ?? 90) * 1000;
  if (options.apiserverPort !== undefined) await assertPortFree(options.apiserverPort);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-cluster-"));
  const started: TrackedProcess[] = [];
  const reaper = options.stopOnExit ? startReaper(process.pid, dir) : undefined;
  const track = (p: TrackedProcess) => {
    started.push(p);
    if (options.stopOnExit) addToReaper(dir, p);
    return p;
  };
  const t0 = Date.now();
  try {
    const [etcdClientPort, etcdPeerPort] = [await freePort(), await freePort()];
    const apiserverPort = options.apiserverPort ?? (await freePort());
    const pki = createPki(dir);

    const etcd = track(startDetached("etcd", bins.etcd, etcdArgs(dir, etcdClientPort, etcdPeerPort), path.join(dir, "etcd.log")));
    await waitUntil(etcd, timeoutMs, () => etcdHealthy(etcdClientPort));

    const apiserver = track(
      startDetached("kube-apiserver", bins.kubeApiserver, apiserverArgs(pki, etcdClientPort, apiserverPort), path.join(dir, "kube-apiserver.log")),
    );
    const server = `https://127.0.0.1:${apiserverPort}`;
    await waitUntil(apiserver, timeoutMs, async () => fs.existsSync(servingCertificate(pki)));
    const caPem = fs.readFileSync(servingCertificate(pki), "utf8");
    const client = new KubeClient({ server, ca: caPem, token: pki.token, insecure: false });
    try {
      await waitUntil(apiserver, timeoutMs, async () => (await client.request("GET", "/readyz").catch(() => undefined))?.status === 200);
      const kubeconfigPath = path.join(dir, "kubeconfig");
      writeKubeconfig(kubeconfigPath, { name: CLUSTER_NAME, server, caPem, token: pki.token });

      const manager = track(
        startDetached(
          "kube-controller-manager",
          bins.kubeControllerManager,
          controllerManagerArgs(kubeconfigPath, pki),
          path.join(dir, "kube-controller-manager.log"),
        ),
      );
      await installCrds(client, [...readCrds(bins.gatewayCrds), ...readCrds(bins.monitoringCrds)], timeoutMs);
      // The ServiceAccount controller creating `default` proves the controller manager works.
      await waitUntil(
        manager,
        timeoutMs,
        async () => (await client.request("GET", "/api/v1/namespaces/default/serviceaccounts/default").catch(() => undefined))?.status === 200,
      );

      const state: ControlPlaneState = {
        dir,
        kubeconfigPath,
        server,
        token: pki.token,
        etcdClientPort,
        etcdPeerPort,
        apiserverPort,
        processes: started,
        reaper,
        startedAt: new Date().toISOString(),
        startSeconds: (Date.now() - t0) / 1000,
      };
      writeState(state);
      return state;
    } finally {
      client.close();
    }
  } catch (err) {
    await Promise.all([...started].reverse().map((p) => stopProcess(p, 3_000)));
    stopReaper(reaper);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err instanceof ControlPlaneError ? err : new ControlPlaneError((err as Error).message);
  }
}

/** Stops exactly the processes recorded in the state (newest first) and removes the folder. */
export async function stopControlPlane(state: ControlPlaneState): Promise<void> {
  for (const p of [...state.processes].reverse()) await stopProcess(p);
  stopReaper(state.reaper);
  fs.rmSync(state.dir, { recursive: true, force: true });
}

/** Which recorded processes still run. */
export function liveProcesses(state: ControlPlaneState): TrackedProcess[] {
  return state.processes.filter(isAlive);
}

/** Reads the state in `dir` and says whether every process of it still runs. */
export function inspect(dir: string): { state?: ControlPlaneState; healthy: boolean } {
  const state = readState(dir);
  if (!state) return { healthy: false };
  return { state, healthy: liveProcesses(state).length === state.processes.length };
}

function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    "--name",
    "default",
    "--data-dir",
    path.join(dir, "etcd"),
    "--listen-client-urls",
    client,
    "--advertise-client-urls",
    client,
    "--listen-peer-urls",
    peer,
    "--initial-advertise-peer-urls",
    peer,
    "--initial-cluster",
    `default=${peer}`,
    // Throwaway data: skipping fsync keeps a loaded machine responsive.
    "--unsafe-no-fsync",
    "--log-level",
    "warn",
  ];
}

function apiserverArgs(pki: ControlPlanePki, etcdPort: number, port: number): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${pki.certDir}`,
    `--token-auth-file=${pki.tokenFile}`,
    "--authorization-mode=RBAC",
    "--anonymous-auth=false",
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--service-cluster-ip-range=10.96.0.0/16",
    // No kubelets and no real endpoints: do not reconcile the `kubernetes` Service's endpoints.
    "--endpoint-reconciler-type=none",
    "--allow-privileged=true",
    "--profiling=false",
    "--v=0",
  ];
}

function controllerManagerArgs(kubeconfig: string, pki: ControlPlanePki): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    // No serving port: nothing scrapes it, and no second port can clash.
    "--secure-port=0",
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${servingCertificate(pki)}`,
    "--use-service-account-credentials=false",
    "--profiling=false",
    "--v=0",
  ];
}

async function etcdHealthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    return res.ok && ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

/** Polls `ready` until true; fails at once when the process died, or after the timeout, with its log. */
async function waitUntil(p: TrackedProcess, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(p)) throw new ControlPlaneError(failureMessage(p, "exited during startup"));
    if (await ready()) return;
    if (Date.now() > deadline) throw new ControlPlaneError(failureMessage(p, `was not ready within ${timeoutMs / 1000} s`));
    await sleep(100);
  }
}

function failureMessage(p: TrackedProcess, what: string): string {
  const log = tailOf(p.logFile);
  const clash = /address already in use/i.test(log) ? " (a port it needs is taken; run again, or pick another --port)" : "";
  return `${p.name} ${what}${clash}. Last lines of its log:\n${log}`;
}

async function assertPortFree(port: number): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ControlPlaneError(`--port must be an integer from 1 to 65535, got ${port}`);
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", () => reject(new ControlPlaneError(`port ${port} on 127.0.0.1 is already in use; pick another --port or stop what listens there`)));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}
