import { CoreV1Api, DiscoveryV1Api, KubeConfig, KubernetesObject, ListWatch, Watch } from "@kubernetes/client-node";
import { Logger } from "../discovery/logger";
import { REGISTRAR_LABEL } from "./contract";
import { EndpointSliceObject, TrackServiceObject } from "./desired";

export interface KubeSink {
  upsertService(obj: TrackServiceObject): void;
  deleteService(obj: TrackServiceObject): void;
  upsertSlice(obj: EndpointSliceObject): void;
  deleteSlice(obj: EndpointSliceObject): void;
}

/**
 * Informers (client-node's ListWatch: list, then watch from the list's resourceVersion; a 410 Gone
 * relists, and a relist reports what vanished as deletes) for the opted-in track Services and the
 * EndpointSlices of one namespace. Bookmarks are requested so the resourceVersion stays fresh on a
 * quiet namespace and a reconnect resumes instead of relisting. ListWatch gives up on any other error
 * (an API server restart): we restart it with backoff; until then the caches keep the last objects, so
 * an API server outage removes nothing from ZooKeeper.
 */
export class KubeSource {
  private readonly informers: Array<{ name: string; lw: ListWatch<KubernetesObject>; backoffMs: number; lastFailure: number; timer?: NodeJS.Timeout }> = [];
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    sink: KubeSink,
    private readonly logger: Logger,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const watch = new Watch(kc);
    const bookmarking = {
      watch: (path: string, query: Record<string, unknown>, cb: (phase: string, obj: any, watchObj?: any) => void, done: (err: any) => void) =>
        watch.watch(path, { ...query, allowWatchBookmarks: true }, cb, done),
    } as Watch;
    const labelSelector = `${REGISTRAR_LABEL.key}=${REGISTRAR_LABEL.value}`;
    const services = new ListWatch<KubernetesObject>(
      `/api/v1/namespaces/${namespace}/services`,
      bookmarking,
      () => core.listNamespacedService({ namespace, labelSelector }) as never,
      false,
      labelSelector,
    );
    const slices = new ListWatch<KubernetesObject>(
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      bookmarking,
      () => discovery.listNamespacedEndpointSlice({ namespace }) as never,
      false,
    );
    services.on("add", (o) => sink.upsertService(o));
    services.on("update", (o) => sink.upsertService(o));
    services.on("delete", (o) => sink.deleteService(o));
    slices.on("add", (o) => sink.upsertSlice(o as EndpointSliceObject));
    slices.on("update", (o) => sink.upsertSlice(o as EndpointSliceObject));
    slices.on("delete", (o) => sink.deleteSlice(o as EndpointSliceObject));
    for (const [name, lw] of [
      ["services", services],
      ["endpointslices", slices],
    ] as const) {
      const informer: (typeof this.informers)[number] = { name, lw, backoffMs: 500, lastFailure: 0 };
      lw.on("error", (err) => this.restartLater(informer, err));
      this.informers.push(informer);
    }
  }

  /** Resolves once both informers have listed (their caches are complete). */
  async start(): Promise<void> {
    // A failed first list reports an error like any other, and restartLater() retries it.
    for (const inf of this.informers) void inf.lw.start().catch((e) => this.restartLater(inf, e));
    while (!this.stopped && !this.synced) await new Promise((r) => setTimeout(r, 100));
  }

  get synced(): boolean {
    return this.informers.every((i) => i.lw.latestResourceVersion() !== "");
  }

  private restartLater(inf: (typeof this.informers)[number], err: unknown): void {
    if (this.stopped || inf.timer) return;
    // Backoff starts over once the watch has stayed up for a while.
    if (Date.now() - inf.lastFailure > 30_000) inf.backoffMs = 500;
    inf.lastFailure = Date.now();
    this.logger.warn("watch failed; restarting it", {
      resource: `${this.namespace}/${inf.name}`,
      error: String((err as Error)?.message ?? err),
      retryInMs: inf.backoffMs,
    });
    inf.timer = setTimeout(() => {
      inf.timer = undefined;
      // Resumes from the last resourceVersion; a 410 Gone then relists.
      void inf.lw.start().catch((e) => this.restartLater(inf, e));
    }, inf.backoffMs);
    inf.backoffMs = Math.min(inf.backoffMs * 2, 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const inf of this.informers) {
      clearTimeout(inf.timer);
      await inf.lw.stop();
    }
  }
}
