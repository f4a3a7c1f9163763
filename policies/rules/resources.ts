// Requests let the scheduler place pods honestly; limits stop one pod from starving its node.
import { resourceRule } from "./define";
import { asObject, asString, at, isAbsent, isUnknown } from "./k8s";
import { containers, POD_KINDS } from "./workloads";

const RESOURCES = ["cpu", "memory"] as const;

const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** A Kubernetes resource quantity ("500m", "1.5", "256Mi", "1e3") as a number; undefined if malformed. */
export function parseQuantity(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  const s = asString(v)?.trim();
  const m = s ? QUANTITY.exec(s) : null;
  if (!m) return undefined;
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * SUFFIX[m[3] ?? ""];
}

function quantityField(c: { spec: Record<string, unknown> }, section: "requests" | "limits", res: string): unknown {
  return at(c.spec, "resources", section, res);
}

function requireSection(section: "requests" | "limits") {
  return (obj: Parameters<typeof containers>[0], report: (m: string) => void, wanted: readonly string[]) => {
    for (const c of containers(obj, ["container", "initContainer"])) {
      const block = at(c.spec, "resources", section);
      if (isUnknown(at(c.spec, "resources")) || isUnknown(block)) continue;
      const missing = wanted.filter((r) => isAbsent(asObject(block)?.[r]));
      if (missing.length) report(`${c.label} sets no ${section} for ${missing.join(" and ")} (resources.${section})`);
    }
  };
}

export const resourceRequests = resourceRule({
  name: "resource-requests",
  description: "Every container must request cpu and memory, so the scheduler places pods on nodes that can hold them.",
  enforcementLevel: "advisory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    requireSection("requests")(obj, report, RESOURCES);
  },
});

interface LimitsConfig {
  requireCpuLimit: boolean;
}

export const resourceLimits = resourceRule<LimitsConfig>({
  name: "resource-limits",
  description: "Every container must set memory and cpu limits, so one pod cannot exhaust its node.",
  enforcementLevel: "advisory",
  kinds: POD_KINDS,
  config: {
    requireCpuLimit: {
      type: "boolean",
      default: true,
      description: "Whether a cpu limit is required as well as a memory limit (default true).",
    },
  },
  check(obj, config, report) {
    requireSection("limits")(obj, report, config.requireCpuLimit ? RESOURCES : ["memory"]);
  },
});

export const requestsWithinLimits = resourceRule({
  name: "requests-within-limits",
  description: "Requests must be valid quantities no larger than the limits (the API server rejects a request above its limit).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj, ["container", "initContainer"])) {
      for (const res of RESOURCES) {
        const rawReq = quantityField(c, "requests", res);
        const rawLim = quantityField(c, "limits", res);
        const req = parseQuantity(rawReq);
        const lim = parseQuantity(rawLim);
        for (const [section, raw, parsed] of [
          ["requests", rawReq, req],
          ["limits", rawLim, lim],
        ] as const) {
          if (!isAbsent(raw) && !isUnknown(raw) && parsed === undefined) {
            report(`${c.label} has an invalid ${res} quantity in resources.${section}: ${JSON.stringify(raw)}`);
          }
        }
        if (req !== undefined && lim !== undefined && req > lim) {
          report(`${c.label} requests more ${res} (${String(rawReq)}) than its limit (${String(rawLim)})`);
        }
        if (lim !== undefined && lim <= 0) report(`${c.label} sets a ${res} limit of ${String(rawLim)}; it must be positive`);
      }
    }
  },
});

export const resourceRules = [resourceRequests, resourceLimits, requestsWithinLimits];
