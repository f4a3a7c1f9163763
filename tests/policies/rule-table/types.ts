// Shared shape of the rule tables: each rule's passing and failing changes to the compliant stack.
import { logAgentSpecs } from "../../../components/logs/log-agent";
import { APPS, LOG_ROOT, Obj, PlatformStack } from "../fixtures";

export type Change = (s: PlatformStack) => void;

export interface RuleSpec {
  /** Changes that keep the stack compliant with this rule. */
  passes: Array<[string, Change]>;
  /** Changes that break it, with the message expected. */
  fails: Array<[string, Change, RegExp]>;
  /** Settings for this rule (on top of the prod config) under which the *WithConfig cases run. */
  config?: Record<string, unknown>;
  passesWithConfig?: Array<[string, Change]>;
  failsWithConfig?: Array<[string, Change, RegExp]>;
}

export const app = (s: PlatformStack): Obj => s.stable.spec.template.spec.containers[0];
export const appSec = (s: PlatformStack): Obj => app(s).securityContext;
export const pod = (s: PlatformStack): Obj => s.stable.spec.template.spec;
export const weights = (s: PlatformStack, ...w: number[]) => s.route.spec.rules[0].backendRefs.forEach((r: Obj, i: number) => (r.weight = w[i]));

/** The platform's log agent DaemonSet as components/logs/log-agent.ts renders it for the fixture stack. */
export function logAgent(change: (ds: Obj) => void = () => {}): Obj {
  const ds = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    ...structuredClone(
      logAgentSpecs({
        namespace: APPS,
        logRoot: LOG_ROOT,
        image: "otel/opentelemetry-collector-contrib:0.165.1",
        retentionDays: 7,
        destination: { kind: "kafka", brokers: ["kafka:9092"], topic: "classroom.logs" },
        kafka: { namespace: "classroom-prod-data", selector: { "app.kubernetes.io/name": "kafka" }, port: 9092 },
      }).daemonSet,
    ),
  } as Obj;
  change(ds);
  return ds;
}
