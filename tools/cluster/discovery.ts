import { KubeClient, statusMessage } from "./kube-client";

/** Where the API server serves one kind: its plural resource name and whether it lives in a namespace. */
export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

/**
 * Looks kinds up through the server's discovery endpoints, one request per group/version and only for
 * the versions asked about, so custom resources (HTTPRoute and friends) resolve like built-in kinds.
 */
export class ResourceDiscovery {
  private readonly groupVersions = new Map<string, Promise<Map<string, ResourceInfo> | string>>();

  constructor(private readonly client: KubeClient) {}

  /** The resource of `apiVersion`/`kind`, or a message saying why the server does not serve it. */
  async lookup(apiVersion: string, kind: string): Promise<ResourceInfo | string> {
    let pending = this.groupVersions.get(apiVersion);
    if (!pending) {
      pending = this.fetchGroupVersion(apiVersion);
      this.groupVersions.set(apiVersion, pending);
    }
    const kinds = await pending;
    if (typeof kinds === "string") return kinds;
    return kinds.get(kind) ?? `the server serves no kind ${kind} in ${apiVersion}`;
  }

  /** Forgets what was learned, e.g. after CRDs were installed. */
  reset(): void {
    this.groupVersions.clear();
  }

  private async fetchGroupVersion(apiVersion: string): Promise<Map<string, ResourceInfo> | string> {
    const res = await this.client.request("GET", groupVersionPath(apiVersion));
    if (res.status === 404) return `the server does not serve apiVersion ${apiVersion}`;
    if (res.status !== 200) return `discovery of ${apiVersion} failed: ${statusMessage(res)}`;
    const kinds = new Map<string, ResourceInfo>();
    for (const r of res.body?.resources ?? []) {
      if (String(r.name).includes("/")) continue; // subresources such as deployments/status
      kinds.set(r.kind, { plural: r.name, namespaced: Boolean(r.namespaced) });
    }
    return kinds;
  }
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The URL path of one object (or of its collection when `name` is undefined). */
export function objectPath(apiVersion: string, info: ResourceInfo, namespace: string | undefined, name?: string): string {
  const ns = info.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : "";
  return `${groupVersionPath(apiVersion)}${ns}/${info.plural}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}
