// Workloads in the cluster: availability, network reach, labels, API versions, namespaces.
import { RuleSpec, pod } from "./types";

export const clusterRules: Record<string, RuleSpec> = {
  "ha-replicas": {
    passes: [
      ["a one-replica canary", (s) => (s.canary.spec.replicas = 1)],
      ["HPA minimum counts, not spec.replicas", (s) => (s.stable.spec.replicas = 1)],
    ],
    config: { exemptWorkloads: ["classroom-prod-data/zookeeper"] },
    passesWithConfig: [["a singleton listed in exemptWorkloads", (s) => (s.zk.spec.replicas = 1)]],
    fails: [
      ["one ZooKeeper server", (s) => (s.zk.spec.replicas = 1), /runs 1 replica\(s\) \(spec.replicas\); this environment needs at least 2/],
      ["HPA minimum of 1", (s) => (s.hpa.spec.minReplicas = 1), /runs 1 replica\(s\) \(HorizontalPodAutoscaler room-api-stable\)/],
    ],
  },
  "pod-disruption-budget": {
    passes: [["single-replica workloads need none", (s) => (s.canary.spec.replicas = 1)]],
    fails: [
      [
        "no PDB for a 3-node ensemble",
        (s) => (s.zkPdb.spec.selector.matchLabels = { "app.kubernetes.io/name": "mysql" }),
        /can run 3 replicas but no PodDisruptionBudget in namespace classroom-prod-data selects its pods/,
      ],
      [
        "HPA can scale the canary out",
        (s) => (s.hpa.spec.scaleTargetRef.name = "room-api-canary"),
        /Deployment classroom-prod-apps\/room-api-canary|can run 10 replicas/,
      ],
    ],
  },
  "pdb-effective": {
    passes: [["minAvailable below replicas", (s) => (s.zkPdb.spec = { minAvailable: 2, selector: s.zkPdb.spec.selector })]],
    fails: [
      ["maxUnavailable 0", (s) => (s.zkPdb.spec.maxUnavailable = 0), /maxUnavailable 0 lets no pod of StatefulSet classroom-prod-data\/zookeeper be evicted/],
      [
        "minAvailable 100%",
        (s) => (s.zkPdb.spec = { minAvailable: "100%", selector: s.zkPdb.spec.selector }),
        /minAvailable 100% with 3 replica\(s\).*lets no pod be evicted/,
      ],
      [
        "selector of a label pods lack",
        (s) => (s.appPdb.spec.selector.matchLabels = { app: "room" }),
        /selector \{app=room\} selects no pods of any workload in namespace classroom-prod-apps/,
      ],
    ],
  },
  "spread-or-anti-affinity": {
    passes: [
      [
        "anti-affinity instead of spread",
        (s) => {
          pod(s).affinity = {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: s.stable.spec.selector.matchLabels } } },
              ],
            },
          };
          delete pod(s).topologySpreadConstraints;
        },
      ],
    ],
    fails: [
      [
        "three replicas, no spread",
        (s) => {
          delete pod(s).topologySpreadConstraints;
          delete s.hpa.spec.scaleTargetRef.name;
        },
        /can run 3 replicas \(spec.replicas\) with neither topologySpreadConstraints nor podAntiAffinity/,
      ],
      [
        "one replica that its HPA scales to 10",
        (s) => {
          delete pod(s).topologySpreadConstraints;
          s.stable.spec.replicas = 1;
        },
        /can run 10 replicas \(HorizontalPodAutoscaler room-api-stable\)/,
      ],
    ],
  },
  "spread-selectors-match-pods": {
    passes: [
      [
        "matchExpressions on the name label",
        (s) =>
          (pod(s).topologySpreadConstraints[0].labelSelector = { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["room-api"] }] }),
      ],
    ],
    fails: [
      [
        "the ZooKeeper tutorial bug: a label the pods lack",
        (s) => (pod(s).topologySpreadConstraints[0].labelSelector = { matchLabels: { app: "room-api" } }),
        /topologySpreadConstraints\[0\].labelSelector \{app=room-api\} does not match the pod labels/,
      ],
      [
        "anti-affinity without a selector",
        (s) => (pod(s).affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname" }] } }),
        /podAntiAffinity.required\[0\].labelSelector is missing/,
      ],
    ],
  },
  "hpa-bounds": {
    passes: [["min 2 max 2", (s) => Object.assign(s.hpa.spec, { minReplicas: 2, maxReplicas: 2 })]],
    fails: [
      ["min above max", (s) => Object.assign(s.hpa.spec, { minReplicas: 5, maxReplicas: 4 }), /minReplicas 5 is above maxReplicas 4/],
      ["min 1 in prod", (s) => (s.hpa.spec.minReplicas = 1), /minReplicas 1 is below 2, the floor for this environment/],
    ],
  },
  "hpa-target-exists": {
    passes: [["targets the stable Deployment", () => {}]],
    fails: [
      ["a typo in the target", (s) => (s.hpa.spec.scaleTargetRef.name = "room-api"), /scaleTargetRef Deployment room-api is not a workload of this stack/],
    ],
  },
  "network-policy-coverage": {
    passes: [
      ["one policy selects the whole app", () => {}],
      [
        "only the namespace's default deny selects it (isolated)",
        (s) => (s.appPolicy.spec.podSelector.matchLabels = { "app.kubernetes.io/name": "course-api" }),
      ],
    ],
    fails: [
      [
        "no policy selects it",
        (s) => {
          s.appPolicy.spec.podSelector.matchLabels = { "app.kubernetes.io/name": "course-api" };
          s.appNamespace.pop();
        },
        /no NetworkPolicy in namespace classroom-prod-apps selects its pods \{app.kubernetes.io\/name=room-api/,
      ],
    ],
  },
  "namespace-default-deny": {
    passes: [["podSelector {} with Ingress and Egress, no rules", () => {}]],
    fails: [
      ["default deny with an allow rule", (s) => (s.appNamespace[1].spec.ingress = [{}]), /namespace classroom-prod-apps has no default-deny NetworkPolicy/],
      [
        "ingress only while egress is required",
        (s) => (s.dataNamespace[1].spec.policyTypes = ["Ingress"]),
        /namespace classroom-prod-data has no default-deny NetworkPolicy \(podSelector \{\}, policyTypes Ingress and Egress, no rules\)/,
      ],
    ],
  },
  "service-exposure": {
    passes: [["ClusterIP", () => {}]],
    fails: [
      ["LoadBalancer", (s) => (s.umbrella.spec.type = "LoadBalancer"), /is of type LoadBalancer, which exposes it outside the cluster/],
      ["externalIPs", (s) => (s.umbrella.spec.externalIPs = ["203.0.113.7"]), /sets externalIPs \(203.0.113.7\)/],
    ],
    config: { allowedExposedServices: ["classroom-prod-apps/room-api"] },
    passesWithConfig: [["an allowed LoadBalancer", (s) => (s.umbrella.spec.type = "LoadBalancer")]],
  },
  "service-targets-pods": {
    passes: [
      [
        "a Service selecting one StatefulSet ordinal",
        (s) => (s.zkService.spec.selector = { ...s.zkService.spec.selector, "statefulset.kubernetes.io/pod-name": "zookeeper-0" }),
      ],
    ],
    fails: [
      [
        "selector matches nothing",
        (s) => (s.svcCanary.spec.selector = { "app.kubernetes.io/instance": "room-api-blue" }),
        /selector \{app.kubernetes.io\/instance=room-api-blue\} matches no pods/,
      ],
      [
        "ordinal beyond the replicas",
        (s) => (s.zkService.spec.selector = { ...s.zkService.spec.selector, "statefulset.kubernetes.io/pod-name": "zookeeper-3" }),
        /matches no pods of any workload in namespace classroom-prod-data/,
      ],
      [
        "legacy Service without its EndpointSlice",
        (s) => (s.legacySlice.metadata.labels["kubernetes.io/service-name"] = "other"),
        /has no selector and no EndpointSlice labelled kubernetes.io\/service-name=room-api-legacy/,
      ],
      ["named targetPort the pods do not have", (s) => (s.svcStable.spec.ports[0].targetPort = "web"), /ports\[0\].targetPort 'web' names no container port/],
    ],
  },
  "recommended-labels": {
    passes: [["all four labels", () => {}]],
    fails: [
      ["missing part-of", (s) => delete s.umbrella.metadata.labels["app.kubernetes.io/part-of"], /is missing label\(s\) app.kubernetes.io\/part-of/],
      [
        "managed by helm",
        (s) => (s.umbrella.metadata.labels["app.kubernetes.io/managed-by"] = "Helm"),
        /has app.kubernetes.io\/managed-by=Helm; the platform uses pulumi/,
      ],
    ],
  },
  "tier-label": {
    passes: [["tier service", () => {}]],
    fails: [
      [
        "no tier on a data Service",
        (s) => delete s.zkService.metadata.labels["classroom.io/tier"],
        /has no classroom.io\/tier label; allowed: data, service, external/,
      ],
      ["unknown tier", (s) => (s.stable.metadata.labels["classroom.io/tier"] = "web"), /has classroom.io\/tier=web; allowed: data, service, external/],
    ],
  },
  "no-deprecated-api-versions": {
    passes: [["policy/v1 PDB", () => {}]],
    fails: [
      [
        "policy/v1beta1 PDB",
        (s) => (s.zkPdb.apiVersion = "policy/v1beta1"),
        /uses policy\/v1beta1 PodDisruptionBudget, which was removed in Kubernetes 1.25; use policy\/v1/,
      ],
      [
        "v1beta1 HTTPRoute",
        (s) => (s.route.apiVersion = "gateway.networking.k8s.io/v1beta1"),
        /is deprecated \(since gateway-api 1.0\); use gateway.networking.k8s.io\/v1/,
      ],
    ],
  },
  "no-default-namespace": {
    passes: [["explicit namespaces", () => {}]],
    fails: [
      ["no namespace", (s) => delete s.appConfig.metadata.namespace, /sets no metadata.namespace, so it lands in the default namespace/],
      ["default namespace", (s) => (s.appConfig.metadata.namespace = "default"), /is placed in the default namespace/],
    ],
  },
};
