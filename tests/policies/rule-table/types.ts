// Shared shape of the rule tables: each rule's passing and failing changes to the compliant stack.
import { Obj, PlatformStack } from "../fixtures";

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
