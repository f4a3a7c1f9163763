import type { CanaryMatch } from "./request-match";

/** How one service's traffic splits between its backends, in percent. */
export interface TrafficSplit {
  stable: number;
  canary: number;
  legacy: number;
}

/**
 * Canary and legacy weights come from the stack; stable takes the rest. Integers that always sum to 100,
 * so the HTTPRoute, the policies and the release CLI agree on one number. The schema holds each weight to
 * 0-100 and their sum to at most 100 (infra/config/services.ts), so stable's share is never negative.
 */
export function trafficSplit(canaryWeight = 0, legacyWeight = 0): TrafficSplit {
  return { stable: 100 - canaryWeight - legacyWeight, canary: canaryWeight, legacy: legacyWeight };
}

/** What every way of exposing an HTTP service needs to know: its backends and how traffic splits between them. */
export interface HttpExposure {
  namespace: string;
  /** Service name; backends are the Services `<name>-stable`, `<name>-canary` and `<name>-legacy`. */
  name: string;
  labels: Record<string, string>;
  port: number;
  split: TrafficSplit;
  /** Which backends exist (a weight alone does not create a Service). */
  backends: { canary: boolean; legacy: boolean };
  pathPrefix: string;
  hostnames: string[];
  /** Requests that go to the canary whatever the weight (`canary.match`). Default: none. */
  canaryMatch?: CanaryMatch[];
}
