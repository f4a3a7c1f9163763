// Pod Security Standards (baseline + restricted), the checks Polaris, kube-score and Kyverno all agree on.
import { resourceRule } from "./define";
import { asArray, asNumber, asObject, asString, at, isAbsent, isUnknown } from "./k8s";
import { containers, effectiveSecurity, hasPodTemplate, podSpec, POD_KINDS } from "./workloads";
import type { KubeObject } from "./k8s";
import { isLogAgent } from "./log-agent";

export const noPrivilegedContainers = resourceRule({
  name: "no-privileged-containers",
  description: "Containers must not run privileged (full access to the node) nor with an unmasked /proc (procMount: Unmasked).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      if (at(c.spec, "securityContext", "privileged") === true) {
        report(`${c.label} sets securityContext.privileged: true (full access to the node)`);
      }
      if (at(c.spec, "securityContext", "procMount") === "Unmasked") {
        report(`${c.label} sets securityContext.procMount: Unmasked (the node's /proc paths are exposed)`);
      }
    }
  },
});

export const noPrivilegeEscalation = resourceRule({
  name: "no-privilege-escalation",
  description: "Every container must set securityContext.allowPrivilegeEscalation: false (setuid binaries cannot gain privileges).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      const v = at(c.spec, "securityContext", "allowPrivilegeEscalation");
      if (isUnknown(v) || v === false) continue;
      report(
        v === true
          ? `${c.label} sets securityContext.allowPrivilegeEscalation: true; it must be false`
          : `${c.label} does not set securityContext.allowPrivilegeEscalation: false`,
      );
    }
  },
});

export const runAsNonRoot = resourceRule({
  name: "run-as-non-root",
  description:
    "Containers must run as a non-root user: runAsNonRoot: true (pod or container) and never runAsUser: 0. The one exception is the platform's log agent DaemonSet, whose containers must then drop ALL capabilities and add none (root-owned hostPath directories).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      const uid = effectiveSecurity(obj, c, "runAsUser");
      if (asNumber(uid) === 0 && isLogAgent(obj) && capabilityFree(c.spec)) continue;
      if (asNumber(uid) === 0) {
        report(`${c.label} runs as UID 0 (securityContext.runAsUser: 0)`);
        continue;
      }
      const nonRoot = effectiveSecurity(obj, c, "runAsNonRoot");
      if (isUnknown(nonRoot) || nonRoot === true) continue;
      report(
        nonRoot === false
          ? `${c.label} sets securityContext.runAsNonRoot: false; it must be true`
          : `${c.label} may run as root: set securityContext.runAsNonRoot: true on the pod or the container`,
      );
    }
  },
});

/** Drops ALL capabilities and adds none: UID 0 then only owns root-owned files, with no privilege. */
function capabilityFree(container: Record<string, unknown>): boolean {
  const caps = asObject(at(container, "securityContext", "capabilities"));
  return asArray(caps?.drop).includes("ALL") && asArray(caps?.add).length === 0;
}

interface CapabilitiesConfig {
  allowedCapabilities: string[];
}

export const dropAllCapabilities = resourceRule<CapabilitiesConfig>({
  name: "drop-all-capabilities",
  description: "Every container must drop ALL Linux capabilities and add back only allowed ones (NET_BIND_SERVICE by default).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  config: {
    allowedCapabilities: {
      type: "array",
      items: { type: "string" },
      default: ["NET_BIND_SERVICE"],
      description: "Capabilities a container may add back after dropping ALL (default NET_BIND_SERVICE, as in the restricted PSS).",
    },
  },
  check(obj, config, report) {
    for (const c of containers(obj)) {
      const caps = at(c.spec, "securityContext", "capabilities");
      const drop = at(caps, "drop");
      if (!isUnknown(caps) && !isUnknown(drop) && !asArray(drop).some(isUnknown)) {
        const dropped = asArray(drop).map((d) => asString(d)?.toUpperCase());
        if (!dropped.includes("ALL") && !dropped.includes("CAP_ALL")) {
          report(`${c.label} does not drop ALL capabilities (securityContext.capabilities.drop must include "ALL")`);
        }
      }
      for (const added of asArray(at(caps, "add"))) {
        const name = asString(added);
        if (name === undefined) continue;
        const bare = name.toUpperCase().replace(/^CAP_/, "");
        if (!config.allowedCapabilities.map((a) => a.toUpperCase().replace(/^CAP_/, "")).includes(bare)) {
          report(`${c.label} adds capability ${name}; allowed: ${config.allowedCapabilities.join(", ") || "none"}`);
        }
      }
    }
  },
});

export const noHostNamespaces = resourceRule({
  name: "no-host-namespaces",
  description: "Pods must not share the node's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    const spec = podSpec(obj);
    const what: Record<string, string> = { hostNetwork: "network", hostPID: "PID", hostIPC: "IPC" };
    for (const [field, ns] of Object.entries(what)) {
      if (spec?.[field] === true) report(`pod shares the node's ${ns} namespace (${field}: true)`);
    }
  },
});

export const noHostPorts = resourceRule({
  name: "no-host-ports",
  description: "Containers must not bind host ports: they pin pods to nodes and bypass NetworkPolicy; use a Service.",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      asArray(c.spec.ports).forEach((p, i) => {
        const hostPort = asNumber(at(p, "hostPort"));
        if (hostPort !== undefined && hostPort !== 0) report(`${c.label} binds host port ${hostPort} (ports[${i}].hostPort)`);
      });
    }
  },
});

const SECCOMP_ALLOWED = ["RuntimeDefault", "Localhost"];

export const seccompRuntimeDefault = resourceRule({
  name: "seccomp-runtime-default",
  description: "Every container must run under a seccomp profile: type RuntimeDefault (or Localhost), set on the pod or the container.",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      const profile = effectiveSecurity(obj, c, "seccompProfile");
      const type = at(profile, "type");
      if (isUnknown(profile) || isUnknown(type)) continue;
      const t = asString(type);
      if (t === undefined) {
        report(`${c.label} has no seccomp profile: set securityContext.seccompProfile.type: RuntimeDefault on the pod or the container`);
      } else if (!SECCOMP_ALLOWED.includes(t)) {
        report(`${c.label} uses seccomp profile ${t}; allowed: ${SECCOMP_ALLOWED.join(", ")}`);
      }
    }
  },
});

export const readOnlyRootFilesystem = resourceRule({
  name: "read-only-root-filesystem",
  description: "Every container must mount its root filesystem read-only; writable paths come from emptyDir or other volumes.",
  enforcementLevel: "advisory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      const v = at(c.spec, "securityContext", "readOnlyRootFilesystem");
      if (isUnknown(v) || v === true) continue;
      report(`${c.label} does not set securityContext.readOnlyRootFilesystem: true`);
    }
  },
});

interface TokenConfig {
  allowedServiceAccounts: string[];
}

export const noServiceAccountTokenAutomount = resourceRule<TokenConfig>({
  name: "no-service-account-token-automount",
  description: "Pods must set automountServiceAccountToken: false unless their service account is allowed to call the Kubernetes API.",
  enforcementLevel: "advisory",
  kinds: POD_KINDS,
  config: {
    allowedServiceAccounts: {
      type: "array",
      items: { type: "string" },
      default: [],
      description: "Service accounts (name or namespace/name) whose pods may mount an API token (default none).",
    },
  },
  check(obj, config, report) {
    const spec = podSpec(obj);
    if (!spec) return;
    const v = spec.automountServiceAccountToken;
    if (isUnknown(v) || v === false) return;
    const sa = asString(spec.serviceAccountName) ?? "default";
    if (config.allowedServiceAccounts.includes(sa) || config.allowedServiceAccounts.includes(`${obj.namespace}/${sa}`)) return;
    report(`pod does not set automountServiceAccountToken: false, so every container gets an API token of service account '${sa}'`);
  },
});

/** Volume sources the restricted Pod Security Standard allows (hostPath has its own platform rule). */
const ALLOWED_VOLUME_TYPES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret", "hostPath"];

export const restrictedVolumeTypes = resourceRule({
  name: "restricted-volume-types",
  description: "Pod volumes must be of the types the restricted Pod Security Standard allows (hostPath is judged by hostpath-log-root-only).",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj: KubeObject, _config, report) {
    if (!hasPodTemplate(obj)) return;
    asArray(podSpec(obj)?.volumes).forEach((v, i) => {
      const vol = asObject(v);
      if (!vol) return;
      const name = asString(vol.name) ?? `#${i}`;
      const sources = Object.keys(vol).filter((k) => k !== "name" && !isAbsent(vol[k]));
      for (const source of sources) {
        if (!ALLOWED_VOLUME_TYPES.includes(source)) {
          report(`volume '${name}' is of type ${source}; allowed: ${ALLOWED_VOLUME_TYPES.filter((t) => t !== "hostPath").join(", ")}`);
        }
      }
    });
  },
});

export const podSecurityRules = [
  noPrivilegedContainers,
  noPrivilegeEscalation,
  runAsNonRoot,
  dropAllCapabilities,
  noHostNamespaces,
  noHostPorts,
  seccompRuntimeDefault,
  readOnlyRootFilesystem,
  noServiceAccountTokenAutomount,
  restrictedVolumeTypes,
];
