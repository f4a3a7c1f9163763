// Each library internal the project relies on sits behind one function; these tests fail when a library
// update moves or removes it, instead of the platform degrading quietly (rules throwing on unknowns,
// secrets read as plain text, renders missing resources).
import * as pulumi from "@pulumi/pulumi";
import { unknownCheckingProxy } from "@pulumi/policy";
import { resourceRule } from "../../policies/rules/define";
import { kafkaClient } from "../../runtime/mq/kafka-client";
import runtimeConfig = require("@pulumi/pulumi/runtime/config");
import runtimeSettings = require("@pulumi/pulumi/runtime/settings");

/** The value CrossGuard hands a rule for an input not known until the update (a preview's unknown). */
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

test("@pulumi/policy: rules read the raw props behind CrossGuard's unknown-checking proxy (__getSpecialProxyTarget)", () => {
  const seen: unknown[] = [];
  const rule = resourceRule({
    name: "reads-replicas",
    description: "test rule",
    enforcementLevel: "mandatory",
    check: (obj) => {
      seen.push(obj.raw.spec);
    },
  });
  const props = unknownCheckingProxy({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "n" },
    spec: { replicas: UNKNOWN_STRING },
  });
  const args = {
    type: "kubernetes:apps/v1:Deployment",
    props,
    urn: "urn:pulumi:s::p::kubernetes:apps/v1:Deployment::d",
    name: "d",
    opts: {},
    getConfig: () => ({}),
  };
  // Through the proxy itself, reading the unknown throws; unwrapped, the rule sees the sentinel and can skip it.
  expect(() => (props as { spec: { replicas: unknown } }).spec.replicas).toThrow();
  (rule.validateResource as (args: never, report: () => void) => void)(args as never, () => undefined);
  expect(seen).toEqual([{ replicas: UNKNOWN_STRING }]);
});

test("@pulumi/pulumi: runtime/config isConfigSecret tells which keys the stack holds as secrets (infra/program)", () => {
  const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean };
  expect(typeof isConfigSecret).toBe("function");
  pulumi.runtime.setAllConfig({ "classroom:imagePullSecret": "{}", "classroom:environment": "dev" }, ["classroom:imagePullSecret"]);
  expect(isConfigSecret!("classroom:imagePullSecret")).toBe(true);
  expect(isConfigSecret!("classroom:environment")).toBe(false);
});

test("@pulumi/pulumi: runtime/settings waitForRPCs lets synth wait for the last registration (tools/synth/lib/render)", () => {
  expect(typeof (runtimeSettings as unknown as { waitForRPCs?: unknown }).waitForRPCs).toBe("function");
});

test("node: Module._load gives the CommonJS sandboxes (jest, the compiled runtime) the ESM-only @platformatic/kafka (runtime/mq/kafka-client)", () => {
  // The public Module.createRequire is no substitute: inside jest it refuses the package
  // ("Must use import to load ES Module"), which is why kafka-client uses Node's loader directly.
  const kafka = kafkaClient();
  expect(typeof kafka.Producer).toBe("function");
  expect(typeof kafka.Consumer).toBe("function");
  expect(typeof kafka.Admin).toBe("function");
  expect(kafkaClient()).toBe(kafka);
});
