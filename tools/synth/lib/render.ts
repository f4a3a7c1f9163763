import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./stack-config";
import { ResourceIdentity, resourceIdentities } from "./urns";

/** One Kubernetes object the program declared, as its provider would receive it. */
export interface RenderedObject {
  /** Pulumi type token, e.g. `kubernetes:apps/v1:Deployment`. */
  type: string;
  /** Pulumi resource name (unique in the stack). */
  name: string;
  /** The object: apiVersion, kind, metadata, spec/data… */
  object: Record<string, any>;
}

/** A resource the program registered (components, providers and random values included), with its inputs. */
export interface RenderedResource {
  type: string;
  name: string;
  /** Resolved inputs; empty for components. */
  props: Record<string, any>;
}

export interface Rendered {
  objects: RenderedObject[];
  /** Every resource the program registered, in registration order. */
  resources: RenderedResource[];
  /** Every resource's URN as the engine computes it (parent chain included) and the old URNs its aliases cover. */
  identities: ResourceIdentity[];
  outputs: Record<string, unknown>;
}

/** What synth's mocks put where a deployment generates a password: objects carrying it hold generated secrets. */
export const GENERATED_PASSWORD_PREFIX = "generated-at-deploy-";

/** Stands in for values only a deployment knows (generated passwords, cluster ids). */
function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: `${GENERATED_PASSWORD_PREFIX}${name}` };
    case "random:index/randomId:RandomId":
      return { ...inputs, b64Url: "AAAAAAAAAAAAAAAAAAAAAA", hex: "00000000000000000000000000000000", dec: "0" };
    default:
      return inputs;
  }
}

/**
 * Runs a Pulumi program under Pulumi's own mocks runtime and collects what it declares: the same
 * program `pulumi up` runs, without an engine, a cluster or a login.
 */
export async function renderProgram(program: () => unknown, stack: StackConfig): Promise<Rendered> {
  const objects: RenderedObject[] = [];
  const resources: Rendered["resources"] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, props: stripUndefined(args.inputs) });
        if (args.type.startsWith("kubernetes:") && !args.type.startsWith("pulumi:providers:")) {
          objects.push({ type: args.type, name: args.name, object: stripUndefined(args.inputs) });
        }
        return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
      },
      call(args) {
        return args.inputs;
      },
    },
    stack.project,
    stack.stack,
    false,
  );
  pulumi.runtime.setAllConfig(stack.config, stack.secretKeys);
  const identities = resourceIdentities(stack.project, stack.stack);
  const outputs =
    (await pulumi.runtime.runInPulumiStack(async () => {
      identities.observe();
      return program();
    })) ?? {};
  await waitForRegistrations();
  return { objects, resources, identities: identities.list(), outputs };
}

/** Registrations finish asynchronously; the SDK's RPC queue tells when the last one is done. */
async function waitForRegistrations(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };
  if (settings.waitForRPCs) await settings.waitForRPCs();
  await new Promise((resolve) => setImmediate(resolve));
}

/** The SDK's marker for a serialized secret value (`{ [SECRET_SIG]: SECRET_VALUE, value }`). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Plain JSON of the inputs: undefined dropped, secret wrappers replaced by their (placeholder) values. */
function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? null), (_key, v) => (v && typeof v === "object" && SECRET_SIG in v ? v.value : v));
}
