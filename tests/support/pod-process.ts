import * as fs from "node:fs";
import * as path from "node:path";
import { ManagedProcess } from "../harness/process";
import { K8sObject } from "./render";

/**
 * Runs a container the platform rendered as a local process, as close to the kubelet as a test can:
 * the container's own `command`, its env with Kubernetes' `$(VAR)` expansion and the downward API
 * filled in, and every volume mount replaced by a folder holding what the pod would see (ConfigMap and
 * Secret keys as files). Only what cannot exist on a laptop is rewritten, and only by name: cluster
 * addresses (`endpoints`) and ports that must be free here (`ports`).
 */
export interface PodProcessOptions {
  /** The rendered Deployment (or any object with a pod template). */
  workload: K8sObject;
  /** Rendered objects the pod's ConfigMap volumes refer to (by name). */
  configMaps: K8sObject[];
  /** Secret volume contents by Secret name then key (the rendered Secrets hold generated values). */
  secrets: Record<string, Record<string, string>>;
  /** Env variables whose value is a cluster address, with the loopback address to use instead. */
  endpoints: Record<string, string>;
  /** Env variables naming a port to listen on, with a free port to use instead. */
  ports: Record<string, number>;
  /** Folders the container's command is looked up in, before the system's. */
  path: string[];
  /** Root of the folders standing in for volume mounts. */
  root: string;
  /** The downward API values. */
  pod: { name: string; uid: string };
}

export interface PodProcess {
  process: ManagedProcess;
  /** Env the process was started with (after expansion and rewrites). */
  env: Record<string, string>;
  /** Local folder of each mount path. */
  mounts: Record<string, string>;
}

export function startPodProcess(options: PodProcessOptions): PodProcess {
  const spec = options.workload.spec.template.spec;
  const container = spec.containers[0];
  const mounts: Record<string, string> = {};
  for (const mount of container.volumeMounts ?? []) {
    const local = path.join(options.root, mount.name);
    fs.mkdirSync(local, { recursive: true });
    mounts[mount.mountPath] = local;
    const volume = spec.volumes.find((v: K8sObject) => v.name === mount.name);
    if (volume?.configMap) {
      const cm = options.configMaps.find((c) => c.metadata.name === volume.configMap.name);
      if (!cm) throw new Error(`volume ${mount.name}: no rendered ConfigMap ${volume.configMap.name}`);
      for (const [key, value] of Object.entries<string>(cm.data ?? {})) fs.writeFileSync(path.join(local, key), value);
    }
    if (volume?.secret) {
      const secret = options.secrets[volume.secret.secretName];
      if (!secret) throw new Error(`volume ${mount.name}: the test gave no contents for Secret ${volume.secret.secretName}`);
      for (const [key, value] of Object.entries(secret)) fs.writeFileSync(path.join(local, key), value);
    }
  }
  const toLocal = (value: string) => {
    for (const [mountPath, local] of Object.entries(mounts)) {
      if (value === mountPath || value.startsWith(`${mountPath}/`)) return local + value.slice(mountPath.length);
    }
    return value;
  };

  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    let value: string;
    if (variable.valueFrom?.fieldRef?.fieldPath === "metadata.name") value = options.pod.name;
    else if (variable.valueFrom?.fieldRef?.fieldPath === "metadata.uid") value = options.pod.uid;
    else if (variable.valueFrom) throw new Error(`env ${variable.name}: valueFrom ${JSON.stringify(variable.valueFrom)} is not supported here`);
    else value = String(variable.value ?? "");
    // Kubernetes expands $(VAR) from variables defined earlier in the list; $$ escapes.
    value = value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) => (whole === "$$" ? "$" : name in env ? env[name] : whole));
    if (variable.name in options.endpoints) value = options.endpoints[variable.name];
    if (variable.name in options.ports) value = String(options.ports[variable.name]);
    env[variable.name] = toLocal(value);
  }
  for (const name of [...Object.keys(options.endpoints), ...Object.keys(options.ports)]) {
    if (!(name in env)) throw new Error(`the rendered container has no env ${name} to rewrite (has: ${Object.keys(env).join(", ")})`);
  }

  const [command, ...args] = [...(container.command ?? []), ...(container.args ?? [])];
  // A pod's environment is what the spec says, nothing of the test runner's (no NODE_OPTIONS, no npm_*).
  const processEnv = { PATH: [...options.path, "/usr/local/bin", "/usr/bin", "/bin"].join(":"), HOME: options.root, ...env };
  const proc = ManagedProcess.start(`${options.workload.metadata.name}`, command, args.map(toLocal), { env: processEnv, cwd: options.root });
  return { process: proc, env, mounts };
}
