// Names the components derive from a service name (and from the namespace prefix) must fit Kubernetes'
// limits for every name the config accepts: the longest accepted names are rendered and every object
// name, label key and label value is measured. A component that derives a longer name fails here until
// the table in infra/config/services.ts says so.
import { parsePlatformConfig, ConfigError } from "../../infra/config";
import { MAX_NAMESPACE_PREFIX_LENGTH } from "../../infra/config/schema";
import { MAX_GATEWAY_NAMESPACE_LENGTH, MAX_SERVICE_NAME_LENGTH } from "../../infra/config/services";
import { renderStack } from "../support/render";

/** Kinds whose names are DNS labels (63), not DNS subdomains (253). */
const LABEL_NAMED_KINDS = ["Service", "Namespace"];

function longName(prefix: string, length: number): string {
  return `${prefix}${"x".repeat(length - prefix.length)}`;
}

/** Every (where, problem) for names and labels beyond Kubernetes' limits in one object. */
function overLimits(object: Record<string, any>): string[] {
  const where = `${object.kind} ${object.metadata?.name}`;
  const problems: string[] = [];
  const name = String(object.metadata?.name ?? "");
  const nameLimit = LABEL_NAMED_KINDS.includes(object.kind) ? 63 : 253;
  if (name.length > nameLimit) problems.push(`${where}: name has ${name.length} > ${nameLimit} characters`);
  const walk = (value: unknown, key: string) => {
    if (!value || typeof value !== "object") return;
    if ((key === "labels" || key === "matchLabels") && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const keyName = k.includes("/") ? k.slice(k.indexOf("/") + 1) : k;
        if (keyName.length > 63) problems.push(`${where}: label key ${k} has a name part of ${keyName.length} > 63 characters`);
        if (String(v).length > 63) problems.push(`${where}: label ${k} value has ${String(v).length} > 63 characters`);
      }
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, k);
  };
  walk(object, "");
  return problems;
}

const service = (kind: string, extra: object = {}) => ({ kind, stable: { image: "registry.classroom.internal/x:1.0.0", replicas: 1 }, ...extra });

function servicesWithLongestNames() {
  const http = longName("h", MAX_SERVICE_NAME_LENGTH);
  const rpc = longName("r", MAX_SERVICE_NAME_LENGTH);
  return {
    [http]: service("http", {
      uses: ["redis", "mysql"],
      calls: [rpc],
      route: { pathPrefix: "/long" },
      canary: { image: "registry.classroom.internal/x:1.1.0", replicas: 1, weight: 10 },
      legacy: { endpoints: ["10.0.0.1:8080"], weight: 10 },
      autoscaling: { minReplicas: 1, maxReplicas: 3 },
    }),
    [rpc]: service("rpc", {
      uses: ["zookeeper", "kafka"],
      canary: { image: "registry.classroom.internal/x:1.1.0", replicas: 1, weight: 20 },
      legacy: { endpoints: ["10.0.0.2:9090"], weight: 5 },
    }),
    [longName("c", MAX_SERVICE_NAME_LENGTH)]: service("consumer", { uses: ["kafka"] }),
  };
}

test("the longest service name is 56 characters: <name>-stable, -canary and -legacy must fit 63", () => {
  expect(MAX_SERVICE_NAME_LENGTH).toBe(56);
  expect(MAX_NAMESPACE_PREFIX_LENGTH).toBe(45);
});

const longExternal = longName("e", 63);
test.each([
  ["gateway-api", {}],
  ["nginx-ingress", { "classroom:routing": { mode: "nginx-ingress" } }],
  [
    "gateway-api with east-west routes, a created Gateway and externals",
    {
      "classroom:routing": {
        eastWest: "gamma",
        gateway: {
          name: longName("g", 63),
          namespace: longName("g", MAX_GATEWAY_NAMESPACE_LENGTH),
          create: true,
          className: "eg",
          tls: { certificateSecret: longName("t", 63) },
        },
      },
      "classroom:externals": { [longExternal]: { addresses: ["10.0.0.9"], ports: [443] }, [longName("d", 63)]: { host: "a.example.com", ports: [443] } },
    },
  ],
])(
  "the longest accepted names render within every Kubernetes limit (%s)",
  async (_mode, routing) => {
    const services = servicesWithLongestNames();
    if ("classroom:externals" in routing)
      for (const s of Object.values(services)) if (s.kind === "http") (s as unknown as { calls: string[] }).calls.push(longExternal);
    if (_mode === "nginx-ingress") for (const s of Object.values(services)) if (s.kind === "http") delete (s as { legacy?: unknown }).legacy;
    const result = await renderStack("dev", {
      "classroom:namespacePrefix": longName("n", MAX_NAMESPACE_PREFIX_LENGTH),
      "classroom:services": services,
      "classroom:scheduler": { replicas: 1, jobs: {} },
      ...routing,
    });
    expect(result.objects.length).toBeGreaterThan(40);
    expect(result.objects.flatMap((o) => overLimits(o.object))).toEqual([]);
  },
  120_000,
);

test("one character more is a config error that states the real maximum", () => {
  const parse = (raw: Record<string, string>) => {
    try {
      parsePlatformConfig({ "classroom:environment": "dev", ...raw });
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  const name = longName("s", MAX_SERVICE_NAME_LENGTH + 1);
  expect(parse({ "classroom:services": JSON.stringify({ [name]: service("worker") }) })).toEqual([
    `classroom:services.${name} is not a valid name: must be at most 56 characters, got 57: the components derive <name>-stable (track Service and app.kubernetes.io/instance label), which Kubernetes limits to 63`,
  ]);
  expect(
    parse({
      "classroom:routing": JSON.stringify({
        gateway: { name: "g", namespace: longName("g", MAX_GATEWAY_NAMESPACE_LENGTH + 1), create: true, className: "eg", tls: { certificateSecret: "t" } },
      }),
    }),
  ).toEqual([
    `classroom:routing.gateway.namespace must be at most 50 characters when create is true, got 51: infra/gateway.ts derives the label value <namespace>-default-deny, which Kubernetes limits to 63`,
  ]);
  expect(parse({ "classroom:namespacePrefix": longName("n", 46) })).toEqual([
    "classroom:namespacePrefix must be at most 45 characters, got 46: infra/platform.ts derives the label value <prefix>-data-default-deny, which Kubernetes limits to 63",
  ]);
});
