import { ConfigError, parsePlatformConfig } from "../../infra/config";

const base = { "classroom:environment": "dev" };
const services = JSON.stringify({
  "room-api": { kind: "http", calls: ["course-sytem"], stable: { image: "r/room:1.0.0", replicas: 1 }, route: { pathPrefix: "/api" } },
});

function problems(raw: Record<string, string>): string[] {
  try {
    parsePlatformConfig({ ...base, ...raw });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("externals in the stack file", () => {
  it("accepts a DNS-name and an address external, with TCP as the default protocol", () => {
    const config = parsePlatformConfig({
      ...base,
      "classroom:externals": JSON.stringify({
        "course-system": { host: "courses.example.com", ports: [443] },
        "oa-system": { addresses: ["10.1.2.3"], ports: [8080, 8081], protocol: "UDP" },
      }),
    });
    expect(config.externals["course-system"]).toEqual({ host: "courses.example.com", ports: [443], protocol: "TCP" });
    expect(config.externals["oa-system"].protocol).toBe("UDP");
  });

  it("names the service and the undeclared external in calls, and suggests the nearest declared name", () => {
    expect(
      problems({ "classroom:services": services, "classroom:externals": JSON.stringify({ "course-system": { host: "courses.example.com", ports: [443] } }) }),
    ).toEqual([
      "classroom:services.room-api.calls names 'course-sytem', which is neither a declared service nor a declared external (services: room-api; externals: course-system); did you mean course-system?",
    ]);
  });

  it("says where to declare a called name that resembles nothing declared", () => {
    const found = problems({ "classroom:services": services });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^classroom:services\.room-api\.calls names 'course-sytem'.*externals: none\); declare it under classroom:externals\.course-sytem/,
    );
  });

  it.each([
    [
      "both host and addresses",
      { host: "a.example.com", addresses: ["10.0.0.1"], ports: [80] },
      "classroom:externals.x must set exactly one of host (a DNS name) or addresses (IPv4 addresses)",
    ],
    ["neither host nor addresses", { ports: [80] }, "classroom:externals.x must set exactly one of host (a DNS name) or addresses (IPv4 addresses)"],
    [
      "an address with a port",
      { addresses: ["10.0.0.1:80"], ports: [80] },
      'classroom:externals.x.addresses[0] must be an IPv4 address such as 10.30.0.5 (no port: ports are listed in ports), got "10.0.0.1:80"',
    ],
    [
      "an IP as host",
      { host: "10.0.0.1", ports: [80] },
      'classroom:externals.x.host must be a DNS name such as courses.internal.example.com (an IP address goes in addresses), got "10.0.0.1"',
    ],
    ["no ports", { host: "a.example.com", ports: [] }, "classroom:externals.x.ports must list at least one port, got []"],
    ["a port twice", { host: "a.example.com", ports: [80, 80] }, "classroom:externals.x.ports must not list a port twice, got [80,80]"],
    ["an unknown protocol", { host: "a.example.com", ports: [80], protocol: "HTTP" }, 'classroom:externals.x.protocol must be one of TCP, UDP, got "HTTP"'],
    [
      "egressCidrs on an address external",
      { addresses: ["10.0.0.1"], ports: [80], egressCidrs: ["10.0.0.0/8"] },
      'classroom:externals.x.egressCidrs is only for host externals (addresses are opened as /32 ipBlocks already), got ["10.0.0.0/8"]',
    ],
    [
      "a bad CIDR",
      { host: "a.example.com", ports: [80], egressCidrs: ["10.0.0.0/33"] },
      'classroom:externals.x.egressCidrs[0] must be an IPv4 CIDR such as 203.0.113.0/24, got "10.0.0.0/33"',
    ],
  ])("rejects %s with a message naming the key", (_name, external, expected) => {
    expect(problems({ "classroom:externals": JSON.stringify({ x: external }) })).toEqual([expected]);
  });

  it("refuses an external named like a Service the platform already declares", () => {
    const svc = JSON.stringify({ "room-api": { kind: "http", stable: { image: "r/room:1.0.0", replicas: 1 }, route: { pathPrefix: "/api" } } });
    const ext = { host: "a.example.com", ports: [80] };
    expect(problems({ "classroom:services": svc, "classroom:externals": JSON.stringify({ "room-api-canary": ext, scheduler: ext }) })).toEqual([
      "classroom:externals.room-api-canary is a name service room-api already uses for a Service in the apps namespace; rename the external",
      "classroom:externals.scheduler is a name the platform's scheduler daemon already uses for a Service in the apps namespace; rename the external",
    ]);
  });
});

describe("routing keys of the service graph", () => {
  it("defaults to no east-west routes and an existing Gateway, so existing stacks render as before", () => {
    const config = parsePlatformConfig(base);
    expect(config.routing.eastWest).toBe("none");
    expect(config.routing.gateway.create).toBe(false);
  });

  it.each([
    ["an unknown east-west mode", { eastWest: "istio" }, ['classroom:routing.eastWest must be one of none, gamma, got "istio"']],
    [
      "create without class and certificate",
      { gateway: { name: "g", namespace: "edge", create: true } },
      [
        "classroom:routing.gateway.className is required when create is true (the GatewayClass of the cluster's Gateway controller)",
        "classroom:routing.gateway.tls is required when create is true (tls.certificateSecret: the HTTPS listener's certificate Secret)",
      ],
    ],
    [
      "a class without create",
      { gateway: { name: "g", namespace: "edge", className: "envoy" } },
      ["classroom:routing.gateway.className is only used when create is true"],
    ],
    [
      "a sectionName the created Gateway lacks",
      { gateway: { name: "g", namespace: "edge", create: true, className: "envoy", tls: { certificateSecret: "tls" }, sectionName: "web" } },
      ['classroom:routing.gateway.sectionName must be one of http, https when create is true (the listeners the platform declares), got "web"'],
    ],
    [
      "create under nginx-ingress",
      { mode: "nginx-ingress", gateway: { name: "g", namespace: "edge", create: true, className: "envoy", tls: { certificateSecret: "tls" } } },
      ["classroom:routing.gateway.create is only for mode gateway-api (ingress-nginx serves its own Ingresses), got true"],
    ],
    [
      "create given as a string",
      { gateway: { name: "g", namespace: "edge", create: "yes" } },
      ['classroom:routing.gateway.create must be true or false, got "yes"'],
    ],
  ])("rejects %s", (_name, routing, expected) => {
    expect(problems({ "classroom:routing": JSON.stringify(routing) })).toEqual(expected);
  });
});
