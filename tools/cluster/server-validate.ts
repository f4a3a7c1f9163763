import { ResourceDiscovery, objectPath } from "./discovery";
import { KubeClient, statusMessage } from "./kube-client";
import { readKubeconfig } from "./kubeconfig";

/** One object the API server refused, with the server's own message. */
export interface ServerRejection {
  kind: string;
  namespace?: string;
  name: string;
  message: string;
}

/** Field manager recorded by the server for what this module applies (namespaces) or dry-runs. */
const FIELD_MANAGER = "classroom-platform-validate";
/** Requests in flight at once: enough to hide latency, few enough not to swamp a loaded 2-core machine. */
const CONCURRENCY = 6;

/**
 * Holds rendered objects against a real API server: creates the Namespace objects for real (server-side
 * apply), then sends every other object as a server-side apply dry run with strict field validation
 * (`dryRun=All&fieldValidation=Strict`), so the server's decoding, defaulting, CRD schemas, CEL rules
 * and admission all judge it while nothing is stored. Returns every rejection; an empty list means the
 * server accepted everything. Connection and credential problems throw instead of being reported per object.
 */
export async function validateOnServer(objects: Array<Record<string, any>>, kubeconfigPath: string): Promise<ServerRejection[]> {
  const client = new KubeClient(readKubeconfig(kubeconfigPath));
  try {
    await assertReachable(client);
    const discovery = new ResourceDiscovery(client);
    const rejections: ServerRejection[] = [];
    const namespaces = objects.filter((o) => o.kind === "Namespace" && o.apiVersion === "v1");
    const others = objects.filter((o) => !namespaces.includes(o));
    await forEachLimited(namespaces, CONCURRENCY, async (o) => {
      const rejection = await applyOne(client, discovery, o, false);
      if (rejection) rejections.push(rejection);
    });
    await forEachLimited(others, CONCURRENCY, async (o) => {
      const rejection = await applyOne(client, discovery, o, true);
      if (rejection) rejections.push(rejection);
    });
    return rejections.sort((a, b) => `${a.kind}/${a.namespace ?? ""}/${a.name}`.localeCompare(`${b.kind}/${b.namespace ?? ""}/${b.name}`));
  } finally {
    client.close();
  }
}

async function assertReachable(client: KubeClient): Promise<void> {
  let res;
  try {
    res = await client.request("GET", "/version");
  } catch (err) {
    throw new Error(`cannot reach the API server at ${client.credentials.server}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 401 || res.status === 403) {
    throw new Error(`the API server at ${client.credentials.server} refused the kubeconfig's credentials: ${statusMessage(res)}`);
  }
}

async function applyOne(client: KubeClient, discovery: ResourceDiscovery, object: Record<string, any>, dryRun: boolean): Promise<ServerRejection | undefined> {
  const kind = String(object.kind ?? "");
  const name = String(object.metadata?.name ?? "");
  const namespace: string | undefined = object.metadata?.namespace;
  const reject = (message: string): ServerRejection => ({ kind, ...(namespace ? { namespace } : {}), name, message });
  if (!object.apiVersion || !kind || !name) return reject("object has no apiVersion, kind or metadata.name");

  const info = await discovery.lookup(String(object.apiVersion), kind);
  if (typeof info === "string") return reject(info);
  const query = new URLSearchParams({ fieldManager: FIELD_MANAGER, fieldValidation: "Strict", force: "true" });
  if (dryRun) query.set("dryRun", "All");
  const path = `${objectPath(String(object.apiVersion), info, namespace, name)}?${query}`;
  // Server-side apply works whether or not the object exists, and the patch body is the whole object.
  const res = await client.request("PATCH", path, object, "application/apply-patch+yaml");
  if (res.status >= 200 && res.status < 300) return undefined;
  return reject(statusMessage(res));
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}
