import { Logger } from "../discovery/logger";
import { DesiredNode, EndpointSliceObject, Skip, TrackInfo, TrackServiceObject, desiredNodes, isSkip, sliceServiceName, trackInfo } from "./desired";

/**
 * The registrar's picture of the watched namespace: the opted-in track Services and every EndpointSlice,
 * indexed so an event names the registry services it affects. Fed by the informers (kube-source.ts) or,
 * in tests, directly. Bad objects are skipped with one warning per object version, never thrown.
 */
export class KubeView {
  private readonly services = new Map<string, { obj: TrackServiceObject; info: TrackInfo | undefined }>();
  private readonly slices = new Map<string, EndpointSliceObject>();
  /** Kubernetes Service name -> names of its slices. */
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly warned = new Map<string, string>();
  private readonly lastDesired = new Map<string, Map<string, DesiredNode>>();

  constructor(private readonly logger: Logger) {}

  /** Registry services with at least one valid track Service. */
  registryServices(): Set<string> {
    const out = new Set<string>();
    for (const { info } of this.services.values()) if (info) out.add(info.service);
    return out;
  }

  /** A track Service was added or changed; returns the registry services to re-sync. */
  upsertService(obj: TrackServiceObject): string[] {
    const name = obj.metadata?.name ?? "";
    const before = this.services.get(name)?.info?.service;
    const parsed = trackInfo(obj);
    const info = isSkip(parsed) ? undefined : parsed;
    if (isSkip(parsed)) this.warn(parsed);
    else this.warned.delete(`Service/${obj.metadata?.namespace ?? ""}/${name}`);
    this.services.set(name, { obj, info });
    return unique([before, info?.service]);
  }

  deleteService(obj: TrackServiceObject): string[] {
    const name = obj.metadata?.name ?? "";
    const before = this.services.get(name)?.info?.service;
    this.services.delete(name);
    return unique([before]);
  }

  upsertSlice(obj: EndpointSliceObject): string[] {
    const name = obj.metadata?.name ?? "";
    const old = this.slices.get(name);
    const oldService = old ? sliceServiceName(old) : undefined;
    const service = sliceServiceName(obj);
    if (oldService && oldService !== service) this.slicesByService.get(oldService)?.delete(name);
    this.slices.set(name, obj);
    if (service) {
      let set = this.slicesByService.get(service);
      if (!set) this.slicesByService.set(service, (set = new Set()));
      set.add(name);
    }
    return unique([this.registryServiceOf(oldService), this.registryServiceOf(service)]);
  }

  deleteSlice(obj: EndpointSliceObject): string[] {
    const name = obj.metadata?.name ?? "";
    const old = this.slices.get(name) ?? obj;
    const service = sliceServiceName(old);
    this.slices.delete(name);
    if (service) this.slicesByService.get(service)?.delete(name);
    return unique([this.registryServiceOf(service)]);
  }

  /** The nodes `service` should have, from its valid track Services' slices. */
  desired(service: string): Map<string, DesiredNode> {
    const tracks: Array<{ info: TrackInfo; slices: EndpointSliceObject[] }> = [];
    for (const [name, { info }] of this.services) {
      if (info?.service !== service) continue;
      const slices = [...(this.slicesByService.get(name) ?? [])].map((n) => this.slices.get(n)).filter((s): s is EndpointSliceObject => s !== undefined);
      tracks.push({ info, slices });
    }
    const { nodes, skips } = desiredNodes(tracks);
    for (const s of skips) this.warn(s);
    // Unchanged endpoints keep their node object, so the diff's content hash is computed once per change.
    const before = this.lastDesired.get(service);
    if (before) {
      for (const [id, node] of nodes) {
        const old = before.get(id);
        if (old && sameNode(old, node)) nodes.set(id, old);
      }
    }
    this.lastDesired.set(service, nodes);
    return nodes;
  }

  private registryServiceOf(kubeService: string | undefined): string | undefined {
    return kubeService === undefined ? undefined : this.services.get(kubeService)?.info?.service;
  }

  private warn(skip: Skip): void {
    const seen = `${skip.version}\u0000${skip.reason}`;
    if (this.warned.get(skip.key) === seen) return;
    this.warned.set(skip.key, seen);
    this.logger.warn(`skipping ${skip.key}: ${skip.reason}`, { object: skip.key, resourceVersion: skip.version });
  }
}

const sameNode = (a: DesiredNode, b: DesiredNode) => a.host === b.host && a.port === b.port && a.track === b.track && a.weight === b.weight && a.pod === b.pod;

function unique(names: Array<string | undefined>): string[] {
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}
