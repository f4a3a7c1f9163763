// Network reach: every pod behind some NetworkPolicy, every namespace closed by default, Services that
// reach real pods, and nothing exposed on node ports or load balancers unless the config allows it.
import { resourceRule, stackRule, StackObject } from "./define";
import { asArray, asObject, asString, at, isUnknown, stringMap } from "./k8s";
import { formatLabels, isEmptySelector, mapMatches, selectorMatches, selectsAny } from "./selectors";
import { containerPortsUnknown, containers, hasPodTemplate, podLabels, podLabelSets } from "./workloads";

function workloadsOf(objects: StackObject[]): StackObject[] {
  // A bare Pod or ReplicaSet owned by a Deployment never appears in a Pulumi stack twice; every template counts.
  return objects.filter(hasPodTemplate);
}

export const networkPolicyCoverage = stackRule({
  name: "network-policy-coverage",
  description: "Every pod must be selected by at least one NetworkPolicy in its namespace, so its allowed traffic is written down.",
  enforcementLevel: "advisory",
  check(objects, _config, report) {
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    for (const w of workloadsOf(objects)) {
      const labels = podLabels(w);
      const covered = policies.some(
        (p) => p.namespace === w.namespace && selectsAny(podLabelSets(w), (l) => selectorMatches(at(p.raw, "spec", "podSelector"), l)) !== false,
      );
      if (!covered) report(w, `no NetworkPolicy in namespace ${w.namespace} selects its pods ${formatLabels(labels)}`);
    }
  },
});

interface DefaultDenyConfig {
  requireEgress: boolean;
}

/** Whether a NetworkPolicy is a default deny: all pods, the wanted directions, no allow rules. */
function isDefaultDeny(np: StackObject, requireEgress: boolean): boolean | undefined {
  const spec = asObject(np.raw.spec);
  if (!spec || isUnknown(spec.podSelector) || isUnknown(spec.policyTypes)) return undefined;
  if (!isEmptySelector(spec.podSelector)) return false;
  const declared = asArray(spec.policyTypes).map(asString);
  // Without policyTypes, Kubernetes infers Ingress, plus Egress when egress rules exist.
  const types = declared.length ? declared : ["Ingress", ...(asArray(spec.egress).length ? ["Egress"] : [])];
  if (!types.includes("Ingress") || asArray(spec.ingress).length > 0) return false;
  if (requireEgress && (!types.includes("Egress") || asArray(spec.egress).length > 0)) return false;
  return true;
}

export const namespaceDefaultDeny = stackRule<DefaultDenyConfig>({
  name: "namespace-default-deny",
  description:
    "Every namespace of the stack has a default-deny NetworkPolicy (podSelector {}, policyTypes Ingress, no rules), so traffic is allowed only where a policy says so.",
  enforcementLevel: "mandatory",
  config: {
    requireEgress: {
      type: "boolean",
      default: false,
      description: "Whether the default deny must also cover Egress (default false: ingress only).",
    },
  },
  check(objects, config, report) {
    const namespaces = new Map<string, StackObject | undefined>();
    for (const o of objects) if (o.kind === "Namespace" && o.name) namespaces.set(o.name, o);
    // A namespace the stack only deploys into is reported against its first workload.
    for (const w of workloadsOf(objects)) if (!namespaces.has(w.namespace)) namespaces.set(w.namespace, w);
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    const wanted = config.requireEgress ? "Ingress and Egress" : "Ingress";
    for (const [ns, nsObject] of namespaces) {
      const verdicts = policies.filter((p) => p.namespace === ns).map((p) => isDefaultDeny(p, config.requireEgress));
      if (verdicts.some((v) => v !== false)) continue;
      report(nsObject, `namespace ${ns} has no default-deny NetworkPolicy (podSelector {}, policyTypes ${wanted}, no rules)`);
    }
  },
});

interface ExposureConfig {
  allowedExposedServices: string[];
}

export const serviceExposure = resourceRule<ExposureConfig>({
  name: "service-exposure",
  description:
    "Services stay inside the cluster (no NodePort, LoadBalancer or externalIPs) unless listed in allowedExposedServices; traffic enters through the Gateway.",
  enforcementLevel: "mandatory",
  kinds: ["Service"],
  config: {
    allowedExposedServices: {
      type: "array",
      items: { type: "string" },
      default: [],
      description: "Services (name or namespace/name) that may be NodePort/LoadBalancer or carry externalIPs (default none).",
    },
  },
  check(obj, config, report) {
    if (config.allowedExposedServices.includes(obj.name) || config.allowedExposedServices.includes(`${obj.namespace}/${obj.name}`)) return;
    const type = asString(at(obj.raw, "spec", "type"));
    if (type === "NodePort" || type === "LoadBalancer") {
      report(`is of type ${type}, which exposes it outside the cluster; route traffic through the Gateway or list it in allowedExposedServices`);
    }
    const ips = asArray(at(obj.raw, "spec", "externalIPs"));
    if (ips.length) report(`sets externalIPs (${ips.map(String).join(", ")}), which exposes it on those addresses`);
  },
});

export const serviceTargetsPods = stackRule({
  name: "service-targets-pods",
  description:
    "A Service must reach something: its selector matches pods of a workload in the stack (and named targetPorts exist on them), or, selector-less, an EndpointSlice of the stack backs it.",
  enforcementLevel: "mandatory",
  check(objects, _config, report) {
    const workloads = workloadsOf(objects);
    for (const svc of objects.filter((o) => o.kind === "Service")) {
      const spec = asObject(svc.raw.spec);
      if (!spec || isUnknown(spec.selector) || asString(spec.type) === "ExternalName") continue;
      const selector = stringMap(spec.selector);
      if (Object.keys(selector).length === 0) {
        const backed = objects.some(
          (o) =>
            o.namespace === svc.namespace &&
            ((o.kind === "EndpointSlice" && o.labels["kubernetes.io/service-name"] === svc.name) || (o.kind === "Endpoints" && o.name === svc.name)),
        );
        if (!backed) report(svc, `has no selector and no EndpointSlice labelled kubernetes.io/service-name=${svc.name}, so it has no endpoints`);
        continue;
      }
      const verdicts = workloads
        .filter((w) => w.namespace === svc.namespace)
        .map((w) => ({ w, v: selectsAny(podLabelSets(w), (l) => mapMatches(selector, l)) }));
      if (verdicts.some(({ v }) => v === undefined)) continue;
      const targets = verdicts.filter(({ v }) => v).map(({ w }) => w);
      if (targets.length === 0) {
        report(svc, `selector ${formatLabels(selector)} matches no pods of any workload in namespace ${svc.namespace}`);
        continue;
      }
      if (targets.some(containerPortsUnknown)) continue;
      const portNames = new Set(
        targets.flatMap((w) => containers(w, ["container", "initContainer"]).flatMap((c) => asArray(c.spec.ports).map((p) => asString(at(p, "name"))))),
      );
      asArray(spec.ports).forEach((p, i) => {
        const target = at(p, "targetPort");
        if (typeof target === "string" && !isUnknown(target) && !/^\d+$/.test(target) && !portNames.has(target)) {
          report(svc, `ports[${i}].targetPort '${target}' names no container port of the selected pods`);
        }
      });
    }
  },
});

export const networkingRules = [networkPolicyCoverage, namespaceDefaultDeny, serviceExposure, serviceTargetsPods];
