import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

/** What a client needs to talk to an API server, resolved from a kubeconfig's current context. */
export interface ClusterCredentials {
  /** Server URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  /** PEM CA bundle; undefined means the system roots. */
  ca?: string;
  /** Bearer token, when the user authenticates with one. */
  token?: string;
  /** PEM client certificate and key, when the user authenticates with them. */
  clientCert?: string;
  clientKey?: string;
  /** `insecure-skip-tls-verify` in the kubeconfig. Default false. */
  insecure: boolean;
}

/** Writes a single-context kubeconfig for a token user, CA embedded so the file stands alone. */
export function writeKubeconfig(file: string, opts: { name: string; server: string; caPem: string; token: string }): void {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: opts.name, cluster: { server: opts.server, "certificate-authority-data": Buffer.from(opts.caPem).toString("base64") } }],
    users: [{ name: `${opts.name}-admin`, user: { token: opts.token } }],
    contexts: [{ name: opts.name, context: { cluster: opts.name, user: `${opts.name}-admin` } }],
    "current-context": opts.name,
  };
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
}

/** Reads the current context of a kubeconfig. Exec and auth-provider plugins are not supported. */
export function readKubeconfig(file: string): ClusterCredentials {
  let doc: any;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
  const base = path.dirname(file);
  const contextName: string | undefined = doc?.["current-context"];
  const context = (doc?.contexts ?? []).find((c: any) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${file}: current-context '${contextName ?? ""}' is not among its contexts`);
  const cluster = (doc.clusters ?? []).find((c: any) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig ${file}: cluster '${context.cluster}' has no server`);
  const user = (doc.users ?? []).find((u: any) => u.name === context.user)?.user ?? {};
  if (user.exec || user["auth-provider"]) {
    throw new Error(`kubeconfig ${file}: user '${context.user}' uses an exec/auth-provider plugin; use a token or client certificate`);
  }
  const fileOrData = (dataKey: string, fileKey: string, from: any): string | undefined => {
    if (from[dataKey]) return Buffer.from(from[dataKey], "base64").toString("utf8");
    if (from[fileKey]) return fs.readFileSync(path.resolve(base, from[fileKey]), "utf8");
    return undefined;
  };
  const token = user.token ?? (user.tokenFile ? fs.readFileSync(path.resolve(base, user.tokenFile), "utf8").trim() : undefined);
  return {
    server: String(cluster.server).replace(/\/+$/, ""),
    ca: fileOrData("certificate-authority-data", "certificate-authority", cluster),
    token,
    clientCert: fileOrData("client-certificate-data", "client-certificate", user),
    clientKey: fileOrData("client-key-data", "client-key", user),
    insecure: cluster["insecure-skip-tls-verify"] === true,
  };
}
