import * as os from "node:os";
import { DEFAULT_ROOT, DiscoveryConfigError, validateConnectString, validateRoot } from "../discovery/contract";
import { EnvReader } from "../contracts/env";
import { REGISTRAR_DEFAULTS, REGISTRAR_ENV } from "./contract";

export interface RegistrarConfig {
  connect: string;
  root: string;
  stateRoot: string;
  namespace: string;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  recheckIntervalMs: number;
  identity: string;
  healthPort: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Reads the daemon's environment (README.md, "Environment"); throws EnvConfigError naming every problem. */
export function registrarConfigFromEnv(env: Record<string, string | undefined> = process.env): RegistrarConfig {
  const r = new EnvReader(env);
  const E = REGISTRAR_ENV;
  const checked = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof DiscoveryConfigError)) throw err;
      r.problem(err.message);
      return fallback;
    }
  };
  const rawConnect = r.required(E.connect, "the ZooKeeper connect string, host:port[,host:port...]");
  const connect = rawConnect === "" ? "" : checked(() => validateConnectString(rawConnect, E.connect), "");
  const root = checked(() => validateRoot(r.raw(E.root) ?? DEFAULT_ROOT, E.root), DEFAULT_ROOT);
  const stateRoot = checked(() => validateRoot(r.raw(E.stateRoot) ?? REGISTRAR_DEFAULTS.stateRoot, E.stateRoot), REGISTRAR_DEFAULTS.stateRoot);
  if (stateRoot === root || stateRoot.startsWith(`${root}/`))
    r.problem(`${E.stateRoot} must not be inside ${E.root} ('${root}'): callers would see the ledger as a service`);
  const namespace = r.required(E.namespace, "the namespace whose track Services and EndpointSlices are mirrored");
  if (namespace && !DNS_LABEL.test(namespace)) r.problem(`${E.namespace} must be a DNS-1123 label, got '${namespace}'`);
  const leaseName = r.text(E.leaseName, REGISTRAR_DEFAULTS.leaseName, DNS_SUBDOMAIN, "a DNS-1123 subdomain");
  const leaseNamespace = r.text(E.leaseNamespace, r.raw("POD_NAMESPACE") ?? namespace, DNS_LABEL, "a DNS-1123 label");
  const leaseDurationMs = r.int(E.leaseDurationMs, REGISTRAR_DEFAULTS.leaseDurationMs, 1_000, 600_000);
  const renewDeadlineMs = r.int(E.renewDeadlineMs, REGISTRAR_DEFAULTS.renewDeadlineMs, 200, 600_000);
  const retryPeriodMs = r.int(E.retryPeriodMs, REGISTRAR_DEFAULTS.retryPeriodMs, 50, 600_000);
  if (renewDeadlineMs >= leaseDurationMs) r.problem(`${E.renewDeadlineMs} (${renewDeadlineMs}) must be less than ${E.leaseDurationMs} (${leaseDurationMs})`);
  if (retryPeriodMs >= renewDeadlineMs) r.problem(`${E.retryPeriodMs} (${retryPeriodMs}) must be less than ${E.renewDeadlineMs} (${renewDeadlineMs})`);
  const recheckIntervalMs = r.int(E.recheckIntervalMs, REGISTRAR_DEFAULTS.recheckIntervalMs, 0, 86_400_000);
  const identity = r.raw(E.identity) ?? `${os.hostname()}_${process.pid}`;
  const healthPort = r.int(E.healthPort, 0, 0, 65_535);
  r.done();
  return {
    connect,
    root,
    stateRoot,
    namespace,
    leaseName,
    leaseNamespace,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    recheckIntervalMs,
    identity,
    healthPort,
  };
}
