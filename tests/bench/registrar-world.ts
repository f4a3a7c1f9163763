import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { endpointSlice, TestEndpoint } from "../support/registrar/objects";

// What the two registrar benches share: the cluster's state they mutate, and how they report.

export const wallMs = () => performance.timeOrigin + performance.now();
export const loadavg = () => os.loadavg().map((l) => Math.round(l * 100) / 100);
const round1 = (n: number) => Math.round(n * 10) / 10;

/** p50/p90/p99/max of latency samples, in ms to one decimal. */
export function quantiles(xs: number[]) {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? round1(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]) : null);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), samples: sorted.length };
}

/** The cluster's state: `services` rpc services of `endpoints` stable endpoints each, and whether each is ready. */
export class EndpointWorld {
  readonly ready: boolean[][];

  constructor(
    readonly services: number,
    readonly endpointsPerService: number,
    readonly prefix: string,
    /** Namespace of the slices; default: the objects helper's. */
    readonly namespace?: string,
  ) {
    this.ready = Array.from({ length: services }, () => Array.from({ length: endpointsPerService }, () => true));
  }

  serviceName(s: number): string {
    return `${this.prefix}-${String(s).padStart(3, "0")}-rpc`;
  }
  podName(s: number, i: number): string {
    return `${this.serviceName(s)}-stable-${i}`;
  }
  endpoints(s: number): TestEndpoint[] {
    return this.ready[s].map((ready, i) => ({ pod: this.podName(s, i), ip: `10.${1 + Math.floor(s / 250)}.${s % 250}.${i + 1}`, ready }));
  }
  /** The service's stable EndpointSlice as the API server would hold it. */
  slice(s: number): any {
    const name = this.serviceName(s);
    return endpointSlice(`${name}-stable`, `${name}-stable-a`, this.endpoints(s), this.namespace ? { namespace: this.namespace } : {});
  }
}
