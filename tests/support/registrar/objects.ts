import { REGISTRAR_ANNOTATIONS, REGISTRAR_LABEL, SLICE_SERVICE_LABEL } from "../../../runtime/registrar/contract";

/** Builders for the Kubernetes objects the registrar reads, shaped as the API server returns them. */

export interface TestEndpoint {
  pod: string;
  ip: string;
  ready?: boolean;
  terminating?: boolean;
}

let version = 1;
const nextVersion = () => String(version++);

export function trackService(service: string, track: "stable" | "canary", weight?: number, namespace = "classroom-dev-apps"): any {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: `${service}-${track}`,
      namespace,
      resourceVersion: nextVersion(),
      labels: { [REGISTRAR_LABEL.key]: REGISTRAR_LABEL.value, "app.kubernetes.io/name": service },
      annotations: { [REGISTRAR_ANNOTATIONS.track]: track, ...(weight === undefined ? {} : { [REGISTRAR_ANNOTATIONS.weight]: String(weight) }) },
    },
    // Selector-less: the control plane's EndpointSlice controller leaves its slices to us.
    spec: { ports: [{ name: "app", port: 9090, protocol: "TCP" }] },
  };
}

export function endpointSlice(kubeService: string, name: string, endpoints: TestEndpoint[], options: { port?: number | null; namespace?: string } = {}): any {
  const port = options.port === undefined ? 9090 : options.port;
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: options.namespace ?? "classroom-dev-apps",
      resourceVersion: nextVersion(),
      labels: { [SLICE_SERVICE_LABEL]: kubeService, "endpointslice.kubernetes.io/managed-by": "tests.classroom.io" },
    },
    addressType: "IPv4",
    ports: port === null ? [] : [{ name: "app", port, protocol: "TCP" }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.terminating ?? false },
      targetRef: { kind: "Pod", name: e.pod, namespace: options.namespace ?? "classroom-dev-apps" },
    })),
  };
}

/** `count` endpoints of one track: pods `<service>-<track>-<i>`, IPs 10.<n>.<i/250>.<i%250+1>. */
export function endpoints(service: string, track: "stable" | "canary", count: number, net = 1, from = 0): TestEndpoint[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { pod: `${service}-${track}-${i}`, ip: `10.${net}.${Math.floor(i / 250)}.${(i % 250) + 1}` };
  });
}
