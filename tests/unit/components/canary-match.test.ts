import { httpRouteMatches, nginxCanaryMatchAnnotations } from "../../../components/traffic/request-match";
import { findObject, renderStack } from "../../support/render";

const match = [
  { header: "x-classroom-role", value: "teacher" },
  { cookie: "classroom.canary", value: "always" },
  { query: "school", value: "s-42" },
];
const stack = (canary: object, routing?: object) => ({
  "classroom:scheduler": { replicas: 1, jobs: {} },
  "classroom:services": {
    "room-api": {
      kind: "http",
      stable: { image: "r/room-api:1.0.0", replicas: 2 },
      canary: { image: "r/room-api:1.1.0", replicas: 1, weight: 10, ...canary },
      route: { pathPrefix: "/api/rooms" },
    },
  },
  ...(routing ? { "classroom:routing": routing } : {}),
});

describe("request-based canary routing (canary.match)", () => {
  it("builds one Gateway API match per rule inside the path prefix; a cookie is a Cookie-header regex", () => {
    const path = { type: "PathPrefix", value: "/api/rooms" };
    expect(httpRouteMatches("/api/rooms", match)).toEqual([
      { path, headers: [{ type: "Exact", name: "x-classroom-role", value: "teacher" }] },
      { path, headers: [{ type: "RegularExpression", name: "Cookie", value: "(^|;\\s*)classroom\\.canary=always(;|$)" }] },
      { path, queryParams: [{ type: "Exact", name: "school", value: "s-42" }] },
    ]);
    const cookie = new RegExp((httpRouteMatches("/", [match[1]])[0] as any).headers[0].value);
    expect(cookie.test("a=1; classroom.canary=always")).toBe(true);
    expect(cookie.test("classroom.canary=always; b=2")).toBe(true);
    expect(cookie.test("xclassroom.canary=always")).toBe(false);
    expect(cookie.test("classroomXcanary=always")).toBe(false);
  });

  it("puts the match rule ahead of the weighted rule of the HTTPRoute, sending matches to the canary alone", async () => {
    const route = findObject(await renderStack("dev", stack({ match })), "HTTPRoute", "room-api");
    expect(route.spec.rules).toHaveLength(2);
    expect(route.spec.rules[0]).toEqual({
      matches: httpRouteMatches("/api/rooms", match),
      backendRefs: [{ group: "", kind: "Service", name: "room-api-canary", port: 8080 }],
    });
    expect(route.spec.rules[1].backendRefs.map((b: any) => [b.name, b.weight])).toEqual([
      ["room-api-stable", 90],
      ["room-api-canary", 10],
    ]);
  });

  it("leaves the HTTPRoute as it was without canary.match", async () => {
    const route = findObject(await renderStack("dev", stack({})), "HTTPRoute", "room-api");
    expect(route.spec.rules).toEqual([{ matches: [{ path: { type: "PathPrefix", value: "/api/rooms" } }], backendRefs: expect.any(Array) }]);
  });

  it("annotates the nginx canary Ingress with canary-by-header and canary-by-cookie", async () => {
    const nginxMatch = [match[0], match[1]];
    expect(nginxCanaryMatchAnnotations(nginxMatch)).toEqual({
      "nginx.ingress.kubernetes.io/canary-by-header": "x-classroom-role",
      "nginx.ingress.kubernetes.io/canary-by-header-value": "teacher",
      "nginx.ingress.kubernetes.io/canary-by-cookie": "classroom.canary",
    });
    const ingress = findObject(await renderStack("dev", stack({ match: nginxMatch }, { mode: "nginx-ingress" })), "Ingress", "room-api-canary");
    expect(ingress.metadata.annotations).toEqual({
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "10",
      ...nginxCanaryMatchAnnotations(nginxMatch),
    });
  });
});
