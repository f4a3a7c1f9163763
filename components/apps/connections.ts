import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DataConnection } from "../shared/connection";

/** Where credential files appear in a service container. */
export const SECRETS_MOUNT = "/etc/classroom/secrets";

/**
 * Turns the data connections a service declared into what its pods need: plain settings as env vars,
 * credentials as files from the service's own Secret (a pod cannot mount a Secret of another namespace),
 * and the client labels that the data systems' NetworkPolicies admit.
 */
export function connectionWiring(connections: DataConnection[]): {
  env: k8s.types.input.core.v1.EnvVar[];
  secretData: Record<string, pulumi.Output<string>>;
  clientLabels: Record<string, string>;
} {
  const env: k8s.types.input.core.v1.EnvVar[] = [];
  const secretData: Record<string, pulumi.Output<string>> = {};
  const clientLabels: Record<string, string> = {};
  for (const c of [...connections].sort((a, b) => a.system.localeCompare(b.system))) {
    clientLabels[c.clientLabel] = "true";
    for (const [name, value] of Object.entries(c.settings).sort()) env.push({ name, value });
    for (const [file, value] of Object.entries(c.credentials).sort()) {
      const key = `${c.system}-${file}`;
      secretData[key] = value;
      env.push({ name: `${c.system.toUpperCase()}_${file.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}_FILE`, value: `${SECRETS_MOUNT}/${key}` });
    }
  }
  return { env, secretData, clientLabels };
}
