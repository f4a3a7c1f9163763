import { isIP } from "node:net";
import { z } from "zod";

/** Kubernetes resource quantity (`500m`, `256Mi`, `10Gi`). */
export const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, {
  error: "must be a Kubernetes quantity such as 500m, 256Mi or 10Gi",
});

/** Redis/MySQL-style memory size (`256mb`, `1gb`, `512M`). */
export const memorySize = z.string().regex(/^[0-9]+(k|kb|m|mb|g|gb|K|M|G)?$/, { error: "must be a size such as 256mb or 1gb" });

/** An image reference; whether its tag is pinned is a policy question (advisory in dev, mandatory in prod). */
export const imageRef = z
  .string()
  .regex(/^[a-z0-9]+([._\-/][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, {
    error: "must be an image reference such as redis:7.4.6 or registry.example.com/team/app:1.2.3",
  });

/** A DNS-1123 label: names of services, namespaces and jobs become Kubernetes object names. */
export const dnsLabel = z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, {
  error: "must be a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63 characters",
});

export const positiveInt = z
  .number({ error: "must be a whole number >= 1" })
  .int({ error: "must be a whole number >= 1" })
  .min(1, { error: "must be a whole number >= 1" });
export const port = z
  .number({ error: "must be a port number between 1 and 65535" })
  .int({ error: "must be a port number between 1 and 65535" })
  .min(1, { error: "must be a port number between 1 and 65535" })
  .max(65535, { error: "must be a port number between 1 and 65535" });
export const percent = z
  .number({ error: "must be a whole number between 0 and 100" })
  .int({ error: "must be a whole number between 0 and 100" })
  .min(0, { error: "must be a whole number between 0 and 100" })
  .max(100, { error: "must be a whole number between 0 and 100" });

const QUANTITY_SUFFIX: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** The value of a quantity that passed `quantity` (`500m` -> 0.5, `1Gi` -> 1073741824). */
export function quantityValue(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$/.exec(q)!;
  return Number(m[1]) * QUANTITY_SUFFIX[m[2]];
}

export const resources = z
  .strictObject({
    requests: z
      .strictObject({
        cpu: quantity.describe("CPU the scheduler reserves for each pod, e.g. 250m"),
        memory: quantity.describe("Memory the scheduler reserves for each pod, e.g. 512Mi"),
      })
      .describe("What the scheduler reserves for each pod"),
    limits: z
      .strictObject({
        cpu: quantity.optional().describe("CPU ceiling of each pod; unset leaves CPU unthrottled"),
        memory: quantity.describe("Memory ceiling of each pod; above it the container is OOM-killed"),
      })
      .describe("Ceilings of each pod; a request above its limit is an error (the API server rejects such a pod)"),
  })
  .superRefine((r, ctx) => {
    // The API server rejects such a pod in every environment, so this is bad config, not a policy matter.
    for (const res of ["cpu", "memory"] as const) {
      const request = r.requests[res];
      const limit = r.limits[res];
      if (limit !== undefined && quantityValue(request) > quantityValue(limit)) {
        ctx.addIssue({
          code: "custom",
          path: ["requests", res],
          input: request,
          message: `must be <= limits.${res} (${limit}); Kubernetes rejects a pod that requests more than its limit, got ${request}`,
        });
      }
    }
  });

export const storage = z.strictObject({
  size: quantity.describe("Size of each pod's volume, e.g. 10Gi"),
  storageClass: dnsLabel.optional().describe("StorageClass of the volumes. Default: the cluster's default StorageClass"),
});

/**
 * The workload options every data-layer component shares, the way Bitnami keeps the same keys across its
 * charts. The components type their arguments from these (components/shared/workload-options.ts) and fill
 * in their own image and sizes where a key is unset.
 */
export const workloadShape = {
  image: imageRef.optional().describe("Pinned image reference (repo:tag or repo:tag@sha256:...). Default: the component's tested upstream image"),
  replicas: positiveInt.optional().describe("Number of pods. Default: 1"),
  resources: resources.optional().describe("CPU and memory requests and limits of each pod. Default: the component's small profile"),
  storage: storage.optional().describe("Persistent volume of each pod. Default: the component's size on the default StorageClass"),
  maxUnavailable: positiveInt
    .optional()
    .describe("Pods allowed down at once in voluntary disruptions; a PodDisruptionBudget exists only when replicas > 1. Default: 1"),
  spread: z
    .strictObject({
      topologyKey: z.string().min(1).optional().describe("Node label that defines a failure domain. Default: kubernetes.io/hostname"),
      mode: z
        .enum(["required", "preferred"], { error: "must be one of required, preferred" })
        .optional()
        .describe("required refuses to co-locate two pods (safe for quorum systems); preferred only tries. Default: required"),
    })
    .optional()
    .describe("How the pods spread over nodes. Default: required anti-affinity on the hostname when replicas > 1"),
  nodeSelector: z.record(z.string(), z.string()).optional().describe("Node labels the pods must run on. Default: none"),
  priorityClassName: dnsLabel.optional().describe("PriorityClass of the pods. Default: none"),
};
export const workloadOptions = z.strictObject(workloadShape);

/** Types of the parsed values: the components take these as their arguments, so there is one contract. */
export type WorkloadConfig = z.output<typeof workloadOptions>;
export type ResourcesConfig = z.output<typeof resources>;
export type StorageConfig = z.output<typeof storage>;
export type SpreadConfig = NonNullable<WorkloadConfig["spread"]>;

/** The registrar's API server egress when the stack does not know the control plane's addresses. */
export const REGISTRAR_API_SERVER_ANY = ["0.0.0.0/0", "::/0"] as const;

/**
 * An IPv4/IPv6 address or CIDR, as a NetworkPolicy ipBlock takes it: a plain address becomes /32 or /128,
 * and a CIDR must have no host bits set (`10.0.0.0/8`, not `10.1.2.3/8`), which the API server would
 * reject or silently widen.
 */
export const apiServerAddress = z.string({ error: "must be an IP address or CIDR such as 10.0.0.10 or 10.0.0.0/24" }).transform((v, ctx) => {
  const [addr, prefix, ...rest] = v.split("/");
  const family = isIP(addr);
  const bits = family === 6 ? 128 : 32;
  const bad = (why: string) => {
    ctx.addIssue({ code: "custom", input: v, message: `must be an IP address or CIDR such as 10.0.0.10 or 10.0.0.0/24${why}, got '${v}'` });
    return z.NEVER;
  };
  if (family === 0 || rest.length > 0) return bad("");
  if (prefix === undefined) return `${addr}/${bits}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return bad(` (prefix length 0-${bits})`);
  if (hostBitsSet(addr, family, Number(prefix))) return bad(` with no bits set after the prefix length`);
  return v;
});

function hostBitsSet(addr: string, family: number, prefix: number): boolean {
  let value: bigint;
  if (family === 4) {
    value = addr.split(".").reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  } else {
    const [head, tail = ""] = addr.split("::");
    const groups = (s: string) => (s ? s.split(":") : []);
    const h = groups(head);
    const t = groups(tail);
    if (t.length && t[t.length - 1].includes(".")) return false; // an embedded IPv4 suffix: leave it to the API server
    const all = addr.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
    value = all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || "0", 16)), 0n);
  }
  const bits = family === 4 ? 32 : 128;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return (value & hostMask) !== 0n;
}
