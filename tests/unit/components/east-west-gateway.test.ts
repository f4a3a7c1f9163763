import { eastWestRouteObject } from "../../../components/traffic/east-west-route";
import { gatewayObject } from "../../../components/traffic/gateway";
import { trafficSplit } from "../../../components/traffic/weights";
import { findObject, objectsOf, renderStack, selects } from "../../support/render";

describe("the east-west (GAMMA) route of an HTTP service", () => {
  it("is attached to the service's own Service and splits by the same numbers as the gateway", () => {
    const route = eastWestRouteObject({
      namespace: "apps",
      name: "room-api",
      labels: { a: "b" },
      port: 8080,
      split: trafficSplit(10, 20),
      backends: { canary: true, legacy: true },
    });
    expect(route.metadata).toEqual({ name: "room-api-east-west", namespace: "apps", labels: { a: "b", "classroom.io/route": "east-west" } });
    expect(route.spec.parentRefs).toEqual([{ group: "", kind: "Service", name: "room-api", port: 8080 }]);
    expect(route.spec.rules).toEqual([
      {
        backendRefs: [
          { group: "", kind: "Service", name: "room-api-stable", port: 8080, weight: 70 },
          { group: "", kind: "Service", name: "room-api-canary", port: 8080, weight: 10 },
          { group: "", kind: "Service", name: "room-api-legacy", port: 8080, weight: 20 },
        ],
      },
    ]);
  });

  it("names only the backends that exist", () => {
    const route = eastWestRouteObject({
      namespace: "apps",
      name: "x",
      labels: {},
      port: 80,
      split: trafficSplit(0, 0),
      backends: { canary: false, legacy: false },
    });
    expect(route.spec.rules[0].backendRefs.map((b) => [b.name, b.weight])).toEqual([["x-stable", 100]]);
  });
});

describe("routing.eastWest in a stack", () => {
  it("gamma (staging) adds one route per HTTP service with the north-south weights, and nothing else", async () => {
    const result = await renderStack("staging");
    const routes = objectsOf(result, "HTTPRoute");
    const eastWest = routes.filter((r) => r.spec.parentRefs[0].kind === "Service");
    const http = objectsOf(result, "Deployment")
      .filter((d) => d.metadata.labels["app.kubernetes.io/component"] === "http" && d.metadata.labels["classroom.io/track"] === "stable")
      .map((d) => d.metadata.labels["app.kubernetes.io/name"])
      .sort();
    expect(eastWest.map((r) => r.spec.parentRefs[0].name).sort()).toEqual(http);
    for (const route of eastWest) {
      const northSouth = findObject(result, "HTTPRoute", route.spec.parentRefs[0].name);
      expect(route.spec.rules[0].backendRefs).toEqual(northSouth.spec.rules[0].backendRefs);
      // The parent is the umbrella Service, whose selector covers both tracks.
      const parent = findObject(result, "Service", route.spec.parentRefs[0].name);
      expect(parent.spec.ports.map((p: any) => p.port)).toContain(route.spec.parentRefs[0].port);
    }
    expect(result.violations.filter((v) => v.policy === "east-west-weights-match" || v.policy === "httproute-backends-consistent")).toEqual([]);
  });

  it("none (the default, prod) renders no east-west route", async () => {
    const result = await renderStack("prod");
    expect(objectsOf(result, "HTTPRoute").filter((r) => r.spec.parentRefs[0].kind === "Service")).toEqual([]);
  });
});

describe("a Gateway the platform declares", () => {
  it("has an HTTP and an HTTPS listener that admit HTTPRoutes from the apps namespace only", () => {
    const gw = gatewayObject({ name: "classroom", namespace: "edge", className: "eg", certificateSecret: "tls", routesNamespace: "apps" });
    expect(gw.spec.gatewayClassName).toBe("eg");
    expect(gw.spec.listeners.map((l) => [l.name, l.protocol, l.port])).toEqual([
      ["http", "HTTP", 80],
      ["https", "HTTPS", 443],
    ]);
    for (const l of gw.spec.listeners)
      expect(l.allowedRoutes.namespaces).toEqual({ from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "apps" } } });
    expect(gw.spec.listeners[1].tls).toEqual({ mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "tls" }] });
  });

  it("admits its own namespace's routes only when it sits in the apps namespace", () => {
    const gw = gatewayObject({ name: "g", namespace: "apps", className: "eg", certificateSecret: "tls", routesNamespace: "apps" });
    expect(gw.spec.listeners[0].allowedRoutes.namespaces).toEqual({ from: "Same" });
  });

  it("dev: the Gateway, its namespace with default deny, and the paths from the gateway to the HTTP services", async () => {
    const result = await renderStack("dev");
    const gw = findObject(result, "Gateway", "classroom");
    expect(gw.metadata.namespace).toBe("classroom-dev-gateway");
    expect(findObject(result, "Namespace", "classroom-dev-gateway").metadata.labels["classroom.io/role"]).toBe("gateway");
    const policies = objectsOf(result, "NetworkPolicy").filter((p) => p.metadata.namespace === "classroom-dev-gateway");
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(["default-deny", "gateway"]);
    const egress = policies.find((p) => p.metadata.name === "gateway")!.spec.egress;
    for (const route of objectsOf(result, "HTTPRoute")) {
      expect(route.spec.parentRefs[0]).toMatchObject({ kind: "Gateway", name: "classroom", namespace: "classroom-dev-gateway" });
      // Every backend the route names is reachable from the gateway's pods.
      const app = route.metadata.labels["app.kubernetes.io/name"];
      const pods = findObject(result, "Deployment", `${app}-stable`).spec.template.metadata.labels;
      expect(egress.some((r: any) => r.to.some((p: any) => selects(p.podSelector?.matchLabels, pods)))).toBe(true);
      // And the service admits the gateway's namespace.
      const ingress = findObject(result, "NetworkPolicy", app).spec.ingress[0].from;
      expect(ingress).toContainEqual({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "classroom-dev-gateway" } } });
    }
    expect(result.violations.filter((v) => v.policy === "namespace-default-deny")).toEqual([]);
  });
});
