// The pack as the Pulumi CLI runs it: policies/index.ts started by Pulumi's policy-pack runner (its gRPC server),
// then driven over the Analyzer protocol the way `pulumi preview --policy-pack` does: GetAnalyzerInfo,
// Configure with a stack's config file, Analyze per resource, AnalyzeStack at the end.
import * as grpc from "@grpc/grpc-js";
import * as path from "node:path";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { allRules } from "../../policies/rules";
import { loadPolicyConfig, resolvePolicyConfig } from "../../policies/evaluate";
import { ManagedProcess } from "../harness/process";
import { APPS, objectsOf, platformStack, typeToken, Obj } from "./fixtures";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { AnalyzerClient } = require("@pulumi/pulumi/proto/analyzer_grpc_pb");

const ROOT = path.resolve(__dirname, "../..");
const LEVEL = ["advisory", "mandatory", "disabled", "remediate"];
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

let pack: ManagedProcess;
let client: any;

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

async function portFrom(proc: ManagedProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = /^(\d+)\s*$/m.exec(proc.log);
    if (m) return Number(m[1]);
    if (!proc.running) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`policy pack did not print its port:\n${proc.log}`);
}

function options() {
  const o = new analyzerPb.AnalyzerResourceOptions();
  o.setCustomtimeouts(new analyzerPb.AnalyzerResourceOptions.CustomTimeouts());
  return o;
}

function analyzeRequest(obj: Obj, name: string) {
  const req = new analyzerPb.AnalyzeRequest();
  req.setType(typeToken(obj));
  req.setName(name);
  req.setUrn(`urn:pulumi:prod::classroom-platform::${typeToken(obj)}::${name}`);
  req.setProperties(Struct.fromJavaScript(obj));
  req.setOptions(options());
  return req;
}

function diagnostics(res: any): Array<{ policy: string; level: string; message: string; urn: string }> {
  return res.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    level: LEVEL[d.getEnforcementlevel()],
    message: d.getMessage(),
    urn: d.getUrn(),
  }));
}

beforeAll(async () => {
  // Exactly what the engine's `pulumi-analyzer-policy` does: @pulumi/pulumi's policy-pack runner (ts-node,
  // with type checking) in the pack's folder, given the engine address (unused until a preview calls back).
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [path.join(ROOT, "policies")] });
  pack = ManagedProcess.start("policy-pack", path.join(ROOT, "node_modules/.bin/node"), [runner, "127.0.0.1:1", "."], { cwd: path.join(ROOT, "policies") });
  const port = await portFrom(pack, 60_000);
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  // Configure as the CLI does after reconciling policies/config/prod.json.
  const req = new analyzerPb.ConfigureAnalyzerRequest();
  for (const [name, c] of resolvePolicyConfig(loadPolicyConfig("prod"), allRules)) {
    const pc = new analyzerPb.PolicyConfig();
    pc.setEnforcementlevel(LEVEL.indexOf(c.enforcementLevel));
    pc.setProperties(Struct.fromJavaScript(c.properties as Record<string, any>));
    req.getPolicyconfigMap().set(name, pc);
  }
  await call("configure", req);
}, 90_000);

afterAll(async () => {
  client?.close();
  await pack?.stop();
});

test("the analyzer announces every rule with its description, level and config schema", async () => {
  const info: any = await call("getAnalyzerInfo", new Empty());
  expect(info.getName()).toBe("classroom-platform");
  const announced = info.getPoliciesList().map((p: any) => p.getName());
  expect(announced).toEqual(allRules.map((r) => r.name));
  const hostPath = info.getPoliciesList().find((p: any) => p.getName() === "hostpath-log-root-only");
  expect(hostPath.getConfigschema().getProperties().toJavaScript().logRoot.default).toBe("/data/logs/classroom");
});

test("Analyze reports a privileged container as mandatory", async () => {
  const s = platformStack();
  s.stable.spec.template.spec.containers[0].securityContext.privileged = true;
  const found = diagnostics(await call("analyze", analyzeRequest(s.stable, "room-api-stable")));
  expect(found).toEqual([
    expect.objectContaining({
      policy: "no-privileged-containers",
      level: "mandatory",
      message: expect.stringContaining("container 'app' sets securityContext.privileged: true"),
    }),
  ]);
});

function analyzeStackRequest(objects: Obj[]) {
  const req = new analyzerPb.AnalyzeStackRequest();
  req.setResourcesList(
    objects.map((obj, i) => {
      const r = new analyzerPb.AnalyzerResource();
      const name = `${obj.metadata.name}-${i}`;
      r.setType(typeToken(obj));
      r.setName(name);
      r.setUrn(`urn:pulumi:prod::classroom-platform::${typeToken(obj)}::${name}`);
      r.setProperties(Struct.fromJavaScript(obj));
      r.setOptions(options());
      return r;
    }),
  );
  return req;
}

test("AnalyzeStack judges hostPaths against the log root the stack's Namespace states, not a copy in the config file", async () => {
  const outside = platformStack();
  outside.stable.spec.template.spec.volumes[0].hostPath.path = "/var/lib/docker";
  expect(diagnostics(await call("analyzeStack", analyzeStackRequest(objectsOf(outside))))).toEqual([
    expect.objectContaining({
      policy: "hostpath-log-root-only",
      level: "mandatory",
      message: expect.stringContaining(
        `/var/lib/docker, which is not below the log root /data/logs/classroom/prod (log root from the classroom.io/log-root annotation of Namespace ${APPS}, set by classroom:logRoot)`,
      ),
      urn: expect.stringMatching(/Deployment::room-api-stable-\d+$/),
    }),
  ]);
  // One key moves it: a stack whose namespaces state another root passes with its logs there.
  const moved = platformStack();
  for (const ns of [...moved.appNamespace, ...moved.dataNamespace])
    if (ns.kind === "Namespace") ns.metadata.annotations["classroom.io/log-root"] = "/srv/classroom-logs";
  for (const w of [moved.stable, moved.canary]) w.spec.template.spec.volumes[0].hostPath.path = "/srv/classroom-logs/room-api";
  expect(diagnostics(await call("analyzeStack", analyzeStackRequest(objectsOf(moved))))).toEqual([]);
});

test("Analyze passes a compliant object, and unknown preview values neither fail rules nor stop them", async () => {
  const s = platformStack();
  expect(diagnostics(await call("analyze", analyzeRequest(s.stable, "room-api-stable")))).toEqual([]);
  const container = s.stable.spec.template.spec.containers[0];
  container.image = UNKNOWN_STRING;
  container.securityContext.readOnlyRootFilesystem = UNKNOWN_STRING;
  s.stable.spec.replicas = UNKNOWN_STRING;
  expect(diagnostics(await call("analyze", analyzeRequest(s.stable, "room-api-stable")))).toEqual([]);
});

test("AnalyzeStack attaches stack-rule violations to the offending resource's URN", async () => {
  const s = platformStack();
  s.route.spec.rules[0].backendRefs[0].weight = 70; // 70 + 10 + 10
  // Without the east-west route, which would (rightly) also disagree with these weights.
  const found = diagnostics(await call("analyzeStack", analyzeStackRequest(objectsOf(s).filter((o) => o !== s.eastWestRoute))));
  expect(found).toEqual([
    expect.objectContaining({
      policy: "httproute-backends-consistent",
      level: "mandatory",
      message: expect.stringContaining("rules[0] backend weights sum to 90; they must sum to 100"),
      urn: expect.stringMatching(/HTTPRoute::room-api-\d+$/),
    }),
  ]);
  expect(APPS).toBe(s.route.metadata.namespace);
});
