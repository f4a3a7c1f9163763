/**
 * The registrar daemon (`classroom-registrar`): mirrors the ready endpoints of opted-in track Services
 * into ZooKeeper while this replica holds the Lease. Configured by environment variables (README.md).
 * Exit codes: 0 after SIGTERM/SIGINT, 2 on a configuration error (one `configuration error` line listing
 * the problems), 3 on an internal error. Startup failures are log lines like the others.
 */
import * as http from "node:http";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { EnvConfigError } from "../contracts/env";
import { createLogger } from "../log";
import { daemonRegistry, serveMetrics } from "../metrics";
import { registrarConfigFromEnv, RegistrarConfig } from "./config";
import { KubeSource } from "./kube-source";
import { LeaderElector } from "./leader-election";
import { registerRegistrarMetrics } from "./metrics";
import { Registrar } from "./registrar";

// The runtime's structured logger: JSON lines on stdout and in the pod's log file (CLASSROOM_LOG_FILE).
const logger = createLogger({ component: "registrar" });

async function main(): Promise<number> {
  let config: RegistrarConfig;
  try {
    config = registrarConfigFromEnv();
  } catch (err) {
    if (!(err instanceof EnvConfigError)) throw err;
    logger.error("configuration error", { problems: err.problems });
    return 2;
  }
  const log = logger.child({ identity: config.identity });
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault(); // KUBECONFIG, else the pod's ServiceAccount
  } catch (err) {
    log.error("cannot load Kubernetes credentials", { from: "KUBECONFIG or the pod's ServiceAccount", error: (err as Error).message });
    return 2;
  }

  // Created once the informers have listed (below); the registrar's fence callback needs it before that.
  let elector: LeaderElector | undefined = undefined;
  const registrar = new Registrar({
    connect: config.connect,
    root: config.root,
    stateRoot: config.stateRoot,
    logger: log,
    recheckIntervalMs: config.recheckIntervalMs,
    onFenced: () => elector?.demote("another replica fenced our ZooKeeper writes"),
    onSynced: (service) => log.debug("synced", { service }),
  });
  registrar.start();
  const source = new KubeSource(kc, config.namespace, registrar, log);

  const registry = daemonRegistry("registrar");
  registerRegistrarMetrics(registry, registrar);
  const health =
    config.healthPort > 0
      ? http
          .createServer((req, res) => {
            // /healthz: the event loop answers. /readyz: caches listed and ZooKeeper connected (leader or standby).
            // /metrics: Prometheus.
            if (serveMetrics(registry, req, res)) return;
            const ready = source.synced && registrar.session.isConnected;
            const ok = req.url === "/healthz" || (req.url === "/readyz" && ready);
            res.writeHead(ok ? 200 : req.url === "/readyz" ? 503 : 404, { "content-type": "application/json" });
            res.end(JSON.stringify({ ready, leader: registrar.isLeading, zookeeper: registrar.zkStats, writes: registrar.reconciler.stats }));
          })
          .listen(config.healthPort)
      : undefined;

  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("stopping", { signal });
      // Release the Lease first so a standby takes over at once; nodes stay (they are persistent).
      await elector?.stop();
      registrar.standDown();
      await source.stop();
      await registrar.close();
      health?.close();
      resolve();
    };
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
    process.once("SIGINT", () => void shutdown("SIGINT"));
  });

  log.info("starting", { namespace: config.namespace, root: config.root, stateRoot: config.stateRoot, lease: `${config.leaseNamespace}/${config.leaseName}` });
  // Campaign only once the caches are complete: a leader with a half-listed namespace would delete the
  // nodes of every endpoint it has not seen yet.
  await source.start();
  if (stopping) return stopped.then(() => 0);
  log.info("caches synced; campaigning for the lease");
  elector = new LeaderElector({
    api: kc.makeApiClient(CoordinationV1Api),
    namespace: config.leaseNamespace,
    name: config.leaseName,
    identity: config.identity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    logger: log,
    onStartedLeading: () => void registrar.lead(config.identity),
    onStoppedLeading: () => registrar.standDown(),
  });
  void elector.run();
  await stopped;
  log.info("stopped");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    logger.error("internal error", { error: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack });
    process.exit(3);
  },
);
