// Probes: readiness keeps traffic off pods that cannot serve, liveness restarts pods that hang, and a
// startup probe holds liveness off while a slow server boots (instead of a long initialDelaySeconds).
import { resourceRule } from "./define";
import { asNumber, asString, at, isUnknown } from "./k8s";
import type { KubeObject } from "./k8s";
import { parseImage } from "./images";
import { longRunningContainers } from "./workloads";

const SERVING_KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"];

function requireProbe(field: "readinessProbe" | "livenessProbe", why: string) {
  return (obj: KubeObject, report: (m: string) => void) => {
    for (const c of longRunningContainers(obj)) {
      const probe = c.spec[field];
      if (probe === undefined || probe === null) report(`${c.label} has no ${field} (${why})`);
    }
  };
}

export const readinessProbe = resourceRule({
  name: "readiness-probe",
  description: "Every long-running container must have a readinessProbe, so traffic only reaches pods that can serve it.",
  enforcementLevel: "advisory",
  kinds: SERVING_KINDS,
  check(obj, _config, report) {
    requireProbe("readinessProbe", "traffic would reach it before it can serve")(obj, report);
  },
});

export const livenessProbe = resourceRule({
  name: "liveness-probe",
  description: "Every long-running container must have a livenessProbe, so a hung process is restarted.",
  enforcementLevel: "advisory",
  kinds: SERVING_KINDS,
  check(obj, _config, report) {
    requireProbe("livenessProbe", "a hung process would never be restarted")(obj, report);
  },
});

interface StartupConfig {
  slowStartSeconds: number;
  slowStartImages: string[];
}

/** Whether an image's repository is one of `patterns` ("mysql" matches "mysql" and "library/mysql"). */
function imageIsOneOf(image: string, patterns: string[]): string | undefined {
  const repo = parseImage(image).repository;
  return patterns.find((p) => repo === p || repo.endsWith(`/${p}`));
}

export const startupProbeForSlowStart = resourceRule<StartupConfig>({
  name: "startup-probe-for-slow-start",
  description: "Containers that boot slowly (known slow images, or a liveness delay above the threshold) must use a startupProbe.",
  enforcementLevel: "advisory",
  kinds: SERVING_KINDS,
  config: {
    slowStartSeconds: {
      type: "integer",
      minimum: 0,
      default: 30,
      description: "A liveness initialDelaySeconds above this means a slow start that a startupProbe should cover (default 30).",
    },
    slowStartImages: {
      type: "array",
      items: { type: "string" },
      default: ["mysql", "apache/kafka", "zookeeper"],
      description: "Image repositories known to boot slowly; their containers need a startupProbe (default mysql, apache/kafka, zookeeper).",
    },
  },
  check(obj, config, report) {
    for (const c of longRunningContainers(obj)) {
      const startup = c.spec.startupProbe;
      if (isUnknown(startup) || (startup !== undefined && startup !== null)) continue;
      const delay = asNumber(at(c.spec, "livenessProbe", "initialDelaySeconds"));
      if (delay !== undefined && delay > config.slowStartSeconds) {
        report(
          `${c.label} delays its livenessProbe by ${delay} s; use a startupProbe instead (above ${config.slowStartSeconds} s ` +
            `the delay also postpones failure detection after every restart)`,
        );
        continue;
      }
      const image = asString(c.spec.image);
      const slow = image === undefined ? undefined : imageIsOneOf(image, config.slowStartImages);
      if (slow) report(`${c.label} runs ${slow}, which boots slowly, but has no startupProbe (liveness could kill it while it starts)`);
    }
  },
});

export const probeRules = [readinessProbe, livenessProbe, startupProbeForSlowStart];
