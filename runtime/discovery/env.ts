import {
  DEFAULT_ROOT,
  DiscoveryConfigError,
  InstanceRegistration,
  Track,
  TRACKS,
  show,
  validateConnectString,
  validateInstanceId,
  validateRoot,
  validateServiceName,
} from "./contract";

/** Everything a pod of the platform's `rpc` kind needs to register itself, read from its env. */
export interface EnvRegistration {
  /** CLASSROOM_REGISTRY_CONNECT. */
  connect: string;
  /** CLASSROOM_REGISTRY_ROOT, default /classroom/services. */
  root: string;
  /** CLASSROOM_SERVICE. */
  service: string;
  /** CLASSROOM_NAMESPACE: where the Kubernetes Service of the DNS fallback lives. */
  namespace: string;
  /** What `registry.register(service, instance)` takes: id = POD_NAME, host = POD_IP. */
  instance: Required<InstanceRegistration>;
}

/** The env var names of the contract, in the order README.md lists them. */
export const ENV = {
  connect: "CLASSROOM_REGISTRY_CONNECT",
  root: "CLASSROOM_REGISTRY_ROOT",
  service: "CLASSROOM_SERVICE",
  namespace: "CLASSROOM_NAMESPACE",
  port: "CLASSROOM_SERVICE_PORT",
  track: "CLASSROOM_TRACK",
  weight: "CLASSROOM_TRACK_WEIGHT",
  podIp: "POD_IP",
  podName: "POD_NAME",
} as const;

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

/**
 * Reads the registration the platform passes to every rpc pod. Collects every problem and throws one
 * DiscoveryConfigError naming each missing or bad variable and what it allows.
 */
export function registrationFromEnv(env: Record<string, string | undefined> = process.env): EnvRegistration {
  const problems: string[] = [];
  const take = <T>(name: string, parse: (raw: string) => T, fallback?: string): T | undefined => {
    const raw = env[name]?.trim() || fallback;
    if (raw === undefined) {
      problems.push(`${name} is not set`);
      return undefined;
    }
    try {
      return parse(raw);
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const integer =
    (name: string, min: number, max: number) =>
    (raw: string): number => {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < min || n > max) throw new DiscoveryConfigError(`${name} must be an integer ${min}-${max}, got ${show(raw)}`);
      return n;
    };

  const connect = take(ENV.connect, (raw) => validateConnectString(raw, ENV.connect));
  const root = take(ENV.root, (raw) => validateRoot(raw, ENV.root), DEFAULT_ROOT);
  const service = take(ENV.service, (raw) => validateServiceName(raw, ENV.service));
  const namespace = take(ENV.namespace, (raw) => validateServiceName(raw, ENV.namespace));
  const port = take(ENV.port, integer(ENV.port, 1, 65535));
  const track = take(ENV.track, (raw): Track => {
    if (!TRACKS.includes(raw as Track)) throw new DiscoveryConfigError(`${ENV.track} must be one of ${TRACKS.join(" | ")}, got ${show(raw)}`);
    return raw as Track;
  });
  const weight = take(ENV.weight, integer(ENV.weight, 0, 100));
  const host = take(ENV.podIp, (raw) => {
    if (!IPV4.test(raw) && !raw.includes(":"))
      throw new DiscoveryConfigError(`${ENV.podIp} must be an IPv4 or IPv6 address (downward API status.podIP), got ${show(raw)}`);
    return raw;
  });
  const pod = take(ENV.podName, (raw) => validateInstanceId(raw, ENV.podName));

  if (problems.length > 0) {
    throw new DiscoveryConfigError(`service registration env is incomplete: ${problems.join("; ")}`);
  }
  return {
    connect: connect!,
    root: root!,
    service: service!,
    namespace: namespace!,
    instance: { id: pod!, host: host!, port: port!, track: track!, weight: weight!, pod: pod! },
  };
}
