import { Track, TRACKS } from "../discovery/contract";
import { REGISTRAR_ANNOTATIONS, SLICE_SERVICE_LABEL } from "./contract";

/**
 * The part of a Service and an EndpointSlice the registrar reads. Structural subsets of the Kubernetes
 * objects (and of @kubernetes/client-node's V1Service / V1EndpointSlice), so this file stays pure.
 */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface TrackServiceObject {
  metadata?: ObjectMeta;
}
export interface EndpointSliceObject {
  metadata?: ObjectMeta;
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }> | null;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string; namespace?: string };
  }> | null;
}

/** A node's content as the registrar decides it; `registeredAt` is added at write time. */
export interface DesiredNode {
  host: string;
  port: number;
  track: Track;
  weight: number;
  pod: string;
}

/** What a track Service says: which registry service and track it feeds, with which weight. */
export interface TrackInfo {
  service: string;
  track: Track;
  weight: number;
  portName?: string;
}

/** A skipped object: `key` names it (kind/namespace/name), `version` lets the caller warn once per version. */
export interface Skip {
  key: string;
  version: string;
  reason: string;
}

const objectKey = (kind: string, m: ObjectMeta | undefined) => `${kind}/${m?.namespace ?? ""}/${m?.name ?? "?"}`;

/** Reads a track Service's annotations; a Skip when they are missing or wrong (never throws). */
export function trackInfo(svc: TrackServiceObject): TrackInfo | Skip {
  const m = svc.metadata ?? {};
  const skip = (reason: string): Skip => ({ key: objectKey("Service", m), version: m.resourceVersion ?? "", reason });
  const a = m.annotations ?? {};
  const track = a[REGISTRAR_ANNOTATIONS.track];
  if (track === undefined) return skip(`has no ${REGISTRAR_ANNOTATIONS.track} annotation (allowed: ${TRACKS.join(" | ")})`);
  if (!TRACKS.includes(track as Track)) return skip(`${REGISTRAR_ANNOTATIONS.track} must be one of ${TRACKS.join(" | ")}, got '${track}'`);
  const name = m.name ?? "";
  if (!name.endsWith(`-${track}`)) return skip(`a ${track} track Service must be named <service>-${track}, got '${name}'`);
  const rawWeight = a[REGISTRAR_ANNOTATIONS.weight];
  // The stable track's weight means "whatever the canary leaves" (100); a canary without one would be
  // guessed at, and a guess of 100 would send it all the traffic.
  let weight = 100;
  if (rawWeight === undefined) {
    if (track === "canary") return skip(`has no ${REGISTRAR_ANNOTATIONS.weight} annotation (a canary needs its weight, an integer 0-100)`);
  } else if (!/^\d{1,3}$/.test(rawWeight) || Number(rawWeight) > 100) {
    return skip(`${REGISTRAR_ANNOTATIONS.weight} must be an integer 0-100, got '${rawWeight}'`);
  } else {
    weight = Number(rawWeight);
  }
  const portName = a[REGISTRAR_ANNOTATIONS.portName];
  return { service: name.slice(0, -track.length - 1), track: track as Track, weight, ...(portName ? { portName } : {}) };
}

export const isSkip = (v: unknown): v is Skip => typeof (v as Skip)?.reason === "string";

/** The Service an EndpointSlice belongs to, from the label Kubernetes sets. */
export const sliceServiceName = (slice: EndpointSliceObject): string | undefined => slice.metadata?.labels?.[SLICE_SERVICE_LABEL];

// Node names follow the contract's instance-id rule; a pod name always does.
const INSTANCE_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/;

/**
 * The nodes one registry service should have: one per ready, not terminating endpoint of its track
 * Services' slices, named after the endpoint's pod (the same name a self-registering pod uses). An
 * endpoint in two slices (while the slice controller moves it) counts once, ready if either says so.
 */
export function desiredNodes(tracks: Array<{ info: TrackInfo; slices: EndpointSliceObject[] }>): { nodes: Map<string, DesiredNode>; skips: Skip[] } {
  const nodes = new Map<string, DesiredNode>();
  const skips: Skip[] = [];
  for (const { info, slices } of tracks) {
    for (const slice of slices) {
      const m = slice.metadata;
      const skip = (reason: string) => skips.push({ key: objectKey("EndpointSlice", m), version: m?.resourceVersion ?? "", reason });
      const port = slicePort(slice, info.portName);
      if (typeof port === "string") {
        skip(port);
        continue;
      }
      for (const [i, ep] of (slice.endpoints ?? []).entries()) {
        const host = ep.addresses?.[0];
        if (!host) {
          skip(`endpoint ${i} (${ep.targetRef?.name ?? "no target"}) has no addresses`);
          continue;
        }
        const ready = ep.conditions?.ready ?? true; // the API: "a nil value should be interpreted as ready"
        if (!ready || ep.conditions?.terminating === true) continue;
        const id = ep.targetRef?.kind === "Pod" && ep.targetRef.name ? ep.targetRef.name : `ip-${host.replace(/[^A-Za-z0-9]/g, "-")}`;
        if (!INSTANCE_ID.test(id)) {
          skip(`endpoint ${i}: '${id}' cannot be a node name`);
          continue;
        }
        nodes.set(id, { host, port, track: info.track, weight: info.weight, pod: id });
      }
    }
  }
  return { nodes, skips };
}

function slicePort(slice: EndpointSliceObject, portName: string | undefined): number | string {
  const ports = (slice.ports ?? []).filter((p) => typeof p.port === "number" && p.port >= 1 && p.port <= 65535);
  if (ports.length === 0) return "has no ports (an endpoint without a port cannot be called)";
  if (portName !== undefined) {
    const named = ports.find((p) => p.name === portName);
    return named ? named.port! : `has no port named '${portName}' (${REGISTRAR_ANNOTATIONS.portName}); ports: ${ports.map((p) => p.name ?? "''").join(", ")}`;
  }
  if (ports.length === 1) return ports[0].port!;
  const app = ports.find((p) => p.name === "app");
  return app ? app.port! : `has ${ports.length} ports and none named 'app'; set ${REGISTRAR_ANNOTATIONS.portName} on the Service`;
}
