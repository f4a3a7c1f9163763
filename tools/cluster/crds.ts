import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { KubeClient, statusMessage } from "./kube-client";
import { sleep } from "./processes";

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** Reads every CustomResourceDefinition in the `*.yaml` files of a folder. */
export function readCrds(folder: string): Array<Record<string, any>> {
  const crds: Array<Record<string, any>> = [];
  for (const file of fs
    .readdirSync(folder)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(folder, file), "utf8"))) {
      const obj = doc.toJS();
      if (obj?.kind === "CustomResourceDefinition") crds.push(obj);
    }
  }
  return crds;
}

/** Applies the CRDs (server-side apply, so a second run is a no-op) and waits until each is Established. */
export async function installCrds(client: KubeClient, crds: Array<Record<string, any>>, timeoutMs = 60_000): Promise<void> {
  for (const crd of crds) {
    const name = crd.metadata.name;
    const res = await client.request("PATCH", `${CRD_PATH}/${name}?fieldManager=classroom-platform-cluster&force=true`, crd, "application/apply-patch+yaml");
    if (res.status >= 300) throw new Error(`installing CRD ${name} failed: ${statusMessage(res)}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata.name;
    for (;;) {
      const res = await client.request("GET", `${CRD_PATH}/${name}`);
      const established = (res.body?.status?.conditions ?? []).some((c: any) => c.type === "Established" && c.status === "True");
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }
}
