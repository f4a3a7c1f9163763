import * as pulumi from "@pulumi/pulumi";
import { parsePlatformConfig } from "./config";
import { declarePlatform, PlatformOutputs } from "./platform";

/**
 * The Pulumi program as a function: `infra/index.ts` runs it under the CLI, tools/synth under Pulumi's
 * mocks, and the end-to-end tests through the Automation API, so all three declare exactly the same objects.
 */
export function platformProgram(): PlatformOutputs {
  const raw = pulumi.runtime.allConfig();
  const secretKeys = Object.keys(raw).filter(isConfigSecret);
  const config = parsePlatformConfig(raw, secretKeys);
  return declarePlatform(config).outputs;
}

/**
 * Whether the stack holds `key` as a secret. The SDK exports this check but marks it internal (it is
 * how `Config.get` warns about secrets), so it is reached through the module rather than the typings.
 */
function isConfigSecret(key: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  return runtimeConfig.isConfigSecret?.(key) ?? false;
}
