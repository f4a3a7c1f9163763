import * as https from "node:https";
import { ClusterCredentials } from "./kubeconfig";

/** A response from the API server: status code and the parsed JSON body (undefined when not JSON). */
export interface KubeResponse {
  status: number;
  body: any;
}

/** Requests fail after this long without an answer, so a stuck server never hangs a caller. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The smallest client that serves the control-plane tools: plain HTTPS with the kubeconfig's CA and
 * token or client certificate, JSON in and out. No dependency beyond node itself.
 */
export class KubeClient {
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(readonly credentials: ClusterCredentials) {
    this.url = new URL(credentials.server);
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      ca: credentials.ca,
      cert: credentials.clientCert,
      key: credentials.clientKey,
      rejectUnauthorized: !credentials.insecure,
    });
  }

  /** Sends one request; `body` is sent as JSON unless it is already a string. Network errors reject. */
  request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.credentials.token) headers.Authorization = `Bearer ${this.credentials.token}`;
    if (payload !== undefined) {
      headers["Content-Type"] = contentType;
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          protocol: "https:",
          hostname: this.url.hostname,
          port: this.url.port || 443,
          path: this.url.pathname.replace(/\/$/, "") + path,
          method,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: any;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on("error", reject);
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new Error(`${method} ${path}: no answer from ${this.credentials.server} within ${REQUEST_TIMEOUT_MS} ms`)),
      );
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Closes idle keep-alive sockets so the caller's process can exit. */
  close(): void {
    this.agent.destroy();
  }
}

/** The server's own words for a failed request: the Status message, else the raw body. */
export function statusMessage(res: KubeResponse): string {
  if (res.body && typeof res.body === "object" && typeof res.body.message === "string") return res.body.message;
  return `HTTP ${res.status}${res.body ? `: ${String(typeof res.body === "string" ? res.body : JSON.stringify(res.body)).slice(0, 500)}` : ""}`;
}
