import { ResourceDiscovery, objectPath } from "../../../tools/cluster/discovery";
import { KubeClient, statusMessage } from "../../../tools/cluster/kube-client";
import { readKubeconfig } from "../../../tools/cluster/kubeconfig";

export type LiveObject = Record<string, any>;

/** Objects the controller manager creates in every namespace by itself; nobody's program declares them. */
const NAMESPACE_DEFAULTS = new Set(["ServiceAccount/default", "ConfigMap/kube-root-ca.crt"]);

/**
 * The objects a program put into the API server, for the kinds it declares: every object of those kinds
 * in its namespaces, except what controllers made from them (anything with ownerReferences: ReplicaSets,
 * Pods, ControllerRevisions, EndpointSlices) and the per-namespace defaults; cluster-scoped kinds only
 * where labelled `app.kubernetes.io/managed-by=pulumi`.
 */
export async function listDeclaredKinds(kubeconfig: string, kinds: ReadonlyArray<Record<string, any>>, namespaces: string[]): Promise<LiveObject[]> {
  const client = new KubeClient(readKubeconfig(kubeconfig));
  try {
    const discovery = new ResourceDiscovery(client);
    const unique = [...new Map(kinds.map((k) => [`${k.apiVersion}/${k.kind}`, { apiVersion: String(k.apiVersion), kind: String(k.kind) }])).values()];
    const found: LiveObject[] = [];
    for (const { apiVersion, kind } of unique) {
      const info = await discovery.lookup(apiVersion, kind);
      if (typeof info === "string") throw new Error(info);
      const lists = info.namespaced
        ? namespaces.map((ns) => objectPath(apiVersion, info, ns))
        : [`${objectPath(apiVersion, info, undefined)}?labelSelector=${encodeURIComponent("app.kubernetes.io/managed-by=pulumi")}`];
      for (const url of lists) {
        const res = await client.request("GET", url);
        if (res.status !== 200) throw new Error(`GET ${url}: ${statusMessage(res)}`);
        for (const item of res.body.items ?? []) {
          if (item.metadata?.ownerReferences?.length) continue;
          if (info.namespaced && NAMESPACE_DEFAULTS.has(`${kind}/${item.metadata?.name}`)) continue;
          found.push({ ...item, apiVersion, kind });
        }
      }
    }
    return found;
  } finally {
    client.close();
  }
}

/** Waits until none of `namespaces` exists any more (the namespace controller finalizes them), or throws naming the rest. */
export async function waitForNamespacesGone(kubeconfig: string, namespaces: string[], timeoutMs = 120_000): Promise<void> {
  const client = new KubeClient(readKubeconfig(kubeconfig));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remaining: string[] = [];
      for (const ns of namespaces) {
        const res = await client.request("GET", `/api/v1/namespaces/${encodeURIComponent(ns)}`);
        if (res.status !== 404) remaining.push(`${ns} (${res.body?.status?.phase ?? res.status})`);
      }
      if (remaining.length === 0) return;
      if (Date.now() > deadline) throw new Error(`namespaces still present ${timeoutMs / 1000} s after destroy: ${remaining.join(", ")}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    client.close();
  }
}
