import { promises as dns } from "node:dns";
import type { Job, RoutingStrategy } from "./job-schema";
import type { JobContext } from "./handlers";

/**
 * HTTP triggers to classroom services, routed like XXL-Job's executor routing. A service's endpoints
 * are the addresses its cluster DNS name resolves to: one ClusterIP for a normal Service (kube-proxy
 * balances; the strategy then hardly matters), one address per ready pod for a headless Service.
 */

export interface RouterOptions {
  /** Namespace of the classroom services, for `<service>.<namespace>.svc.<clusterDomain>`. */
  namespace?: string;
  /** Cluster DNS domain. Default "cluster.local". */
  clusterDomain?: string;
  /** Base URLs per service that replace DNS (legacy VMs, tests), e.g. { "room-api": ["http://10.0.0.5:8080"] }. */
  staticEndpoints?: Record<string, string[]>;
  /** How long resolved addresses are reused. Default 5000. */
  dnsCacheMs?: number;
}

/** Errors that prove the request never reached the endpoint: safe to try the next one. */
const unreachableCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

export class TriggerError extends Error {
  constructor(
    message: string,
    readonly endpoint: string | undefined,
  ) {
    super(message);
  }
}

/** Orders candidate endpoints for one trigger. Pure, so routing is testable without a network. */
export function routeOrder(strategy: RoutingStrategy, endpoints: string[], roundRobinCounter: number, random: () => number = Math.random): string[] {
  if (endpoints.length === 0) return [];
  switch (strategy) {
    case "first":
      return [endpoints[0]];
    case "round-robin":
      return [endpoints[roundRobinCounter % endpoints.length]];
    case "random":
      return [endpoints[Math.floor(random() * endpoints.length)]];
    case "failover":
      return [...endpoints];
  }
}

export class Router {
  private readonly cache = new Map<string, { at: number; endpoints: string[] }>();
  private readonly counters = new Map<string, number>();

  constructor(private readonly options: RouterOptions = {}) {}

  /** Base URLs of a service, sorted so that "first" and "failover" are stable across replicas. */
  async endpoints(service: string, port: number): Promise<string[]> {
    const fixed = this.options.staticEndpoints?.[service];
    if (fixed) return fixed;
    if (!this.options.namespace) {
      throw new TriggerError(
        `cannot address service '${service}': CLASSROOM_NAMESPACE is not set and CLASSROOM_SCHEDULER_ENDPOINTS has no entry for it`,
        undefined,
      );
    }
    const host = `${service}.${this.options.namespace}.svc.${this.options.clusterDomain ?? "cluster.local"}`;
    const key = `${host}:${port}`;
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < (this.options.dnsCacheMs ?? 5000)) return cached.endpoints;
    try {
      const addresses = await dns.lookup(host, { all: true });
      const endpoints = addresses.map((a) => (a.family === 6 ? `http://[${a.address}]:${port}` : `http://${a.address}:${port}`)).sort();
      this.cache.set(key, { at: Date.now(), endpoints });
      return endpoints;
    } catch (err) {
      // Serve the last known addresses through a DNS hiccup rather than failing the fire.
      if (cached) return cached.endpoints;
      throw new TriggerError(`cannot resolve ${host}: ${(err as Error).message}`, undefined);
    }
  }

  /** Sends one trigger; resolves with the endpoint that answered 2xx, rejects with a TriggerError. */
  async trigger(job: Job, context: JobContext): Promise<string> {
    if (job.target.kind !== "http") throw new Error(`job ${job.name} has no HTTP target`);
    const target = job.target;
    const endpoints = await this.endpoints(target.service, target.port);
    const counter = this.counters.get(job.name) ?? 0;
    this.counters.set(job.name, counter + 1);
    const candidates = routeOrder(target.routing, endpoints, counter);
    if (candidates.length === 0) throw new TriggerError(`service '${target.service}' has no endpoints`, undefined);
    const body =
      target.method === "GET"
        ? undefined
        : JSON.stringify({
            job: job.name,
            fireTime: new Date(context.fireTime).toISOString(),
            fireTimeMs: context.fireTime,
            fencingToken: context.fencingToken,
            attempt: context.attempt,
            params: context.params,
          });
    let lastError: TriggerError | undefined;
    for (const endpoint of candidates) {
      const url = endpoint.replace(/\/$/, "") + target.path;
      let response: Response;
      try {
        response = await fetch(url, {
          method: target.method,
          signal: context.signal,
          body,
          headers: {
            "content-type": "application/json",
            "x-classroom-job": job.name,
            "x-classroom-fire-time": String(context.fireTime),
            "x-classroom-fencing-token": String(context.fencingToken),
            "x-classroom-attempt": String(context.attempt),
          },
        });
      } catch (err) {
        if (context.signal.aborted) throw context.signal.reason ?? err;
        const code = (err as any)?.cause?.code ?? (err as any)?.code;
        lastError = new TriggerError(`${url}: ${code ?? (err as Error).message}`, endpoint);
        if (target.routing === "failover" && unreachableCodes.has(code)) continue;
        throw lastError;
      }
      const text = await response.text().catch(() => "");
      if (response.ok) return endpoint;
      lastError = new TriggerError(`${url}: HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ""}`, endpoint);
      // 503 means "not processed, try elsewhere"; any other status may have had effects.
      if (target.routing === "failover" && response.status === 503) continue;
      throw lastError;
    }
    throw lastError ?? new TriggerError(`service '${target.service}' has no endpoints`, undefined);
  }
}
