// hostPath is the one node-local escape the platform allows: each service's log directory under the
// stack's log root (the migration's log shippers read them there). Anything else on the node is off limits.
import * as path from "node:path";
import { stackRule } from "./define";
import { asArray, asObject, asString, at, isAbsent, isUnknown } from "./k8s";
import { podSpec, POD_KINDS } from "./workloads";
import { isLogAgent, LOG_AGENT_STATE_ROOT, LOG_AGENT_VOLUMES } from "./log-agent";

interface HostPathConfig {
  logRoot: string;
  logVolumeName: string;
}

const ALLOWED_TYPES = ["", "Directory", "DirectoryOrCreate"];

/** Why a hostPath volume is not an allowed log volume, or undefined when it is. */
export function hostPathProblem(volumeName: string, hostPath: Record<string, unknown>, config: HostPathConfig, nameKnown = true): string | undefined {
  const p = hostPath.path;
  if (isUnknown(p)) return undefined;
  const where = asString(p);
  // Whatever an unknown name turns out to be, the path must still be a log directory under the root.
  if (nameKnown && volumeName !== config.logVolumeName) {
    return `volume '${volumeName}' mounts host path ${where ?? "(none)"}; only the volume named '${config.logVolumeName}' may use hostPath, for logs under ${config.logRoot}`;
  }
  if (where === undefined || !path.posix.isAbsolute(where))
    return `volume '${volumeName}' has host path ${JSON.stringify(p)}; it must be an absolute path under ${config.logRoot}`;
  if (where.split("/").includes("..")) return `volume '${volumeName}' host path ${where} contains '..'; give the directory under ${config.logRoot} directly`;
  const root = path.posix.normalize(config.logRoot).replace(/\/+$/, "");
  const normalized = path.posix.normalize(where).replace(/\/+$/, "");
  if (!normalized.startsWith(`${root}/`)) {
    return `volume '${volumeName}' mounts host path ${where}, which is not below the log root ${config.logRoot}`;
  }
  const type = hostPath.type;
  if (!isAbsent(type) && !isUnknown(type) && !ALLOWED_TYPES.includes(asString(type) ?? "?")) {
    return `volume '${volumeName}' has hostPath type ${String(type)}; allowed: Directory, DirectoryOrCreate`;
  }
  return undefined;
}

/**
 * The annotation on a Namespace that states the stack's log root (infra/platform.ts sets it from
 * `classroom:logRoot`), so the rule reads the root from the stack itself: one key changes it.
 */
export const LOG_ROOT_ANNOTATION = "classroom.io/log-root";

const HOSTPATH_KINDS = [...POD_KINDS, "PersistentVolume"];

export const hostpathLogRootOnly = stackRule<HostPathConfig>({
  name: "hostpath-log-root-only",
  description: `hostPath volumes are allowed only for the volume named \`logs\`, as a directory strictly below the stack's log root (the ${LOG_ROOT_ANNOTATION} annotation of the object's Namespace, else the logRoot setting), and for the log agent DaemonSet's \`${LOG_AGENT_VOLUMES.root}\` (the log root itself) and \`${LOG_AGENT_VOLUMES.state}\` (${LOG_AGENT_STATE_ROOT}/<namespace>); never for anything else (PersistentVolumes included).`,
  enforcementLevel: "mandatory",
  config: {
    logRoot: {
      type: "string",
      pattern: "^/",
      default: "/data/logs/classroom",
      description: `Log root for objects whose Namespace is not in the stack or has no ${LOG_ROOT_ANNOTATION} annotation (default /data/logs/classroom).`,
    },
    logVolumeName: {
      type: "string",
      default: "logs",
      description: "The only pod volume name that may be a hostPath (default logs).",
    },
  },
  check(objects, config, report) {
    const declared = new Map<string, string>();
    for (const o of objects) {
      const root = o.kind === "Namespace" ? o.annotations[LOG_ROOT_ANNOTATION] : undefined;
      if (typeof root === "string" && root.startsWith("/")) declared.set(o.name, root);
    }
    // A PersistentVolume has no namespace: with one stack-wide root declared, that root is the one named.
    const stackRoot = new Set(declared.values()).size === 1 ? [...declared.values()][0] : config.logRoot;
    for (const obj of objects) {
      if (!HOSTPATH_KINDS.includes(obj.kind)) continue;
      const fromNamespace = obj.namespace ? declared.get(obj.namespace) : undefined;
      const logRoot = fromNamespace ?? (obj.kind === "PersistentVolume" ? stackRoot : config.logRoot);
      // Say where the root came from, so whoever has to change it knows which key to edit.
      const source = fromNamespace
        ? ` (log root from the ${LOG_ROOT_ANNOTATION} annotation of Namespace ${obj.namespace}, set by classroom:logRoot)`
        : logRoot === config.logRoot
          ? " (log root from the logRoot setting of hostpath-log-root-only)"
          : ` (log root from the ${LOG_ROOT_ANNOTATION} annotation of the stack's Namespaces)`;
      const objConfig = { ...config, logRoot };
      if (obj.kind === "PersistentVolume") {
        const hp = at(obj.raw, "spec", "hostPath");
        if (!isAbsent(hp))
          report(obj, `uses hostPath ${String(asString(at(hp, "path")) ?? "")}; hostPath is allowed only for pod log volumes under ${logRoot}${source}`);
        continue;
      }
      asArray(podSpec(obj)?.volumes).forEach((v, i) => {
        const vol = asObject(v);
        const hp = vol?.hostPath;
        if (!vol || isAbsent(hp) || isUnknown(hp)) return;
        if (isLogAgent(obj) && logAgentVolumeAllowed(asString(vol.name), asObject(hp) ?? {}, logRoot, obj.namespace)) return;
        const problem = hostPathProblem(asString(vol.name) ?? `#${i}`, asObject(hp) ?? {}, objConfig, !isUnknown(vol.name));
        if (problem) report(obj, `${problem}${source}`);
      });
    }
  },
});

/** The log agent's two node directories: the log root itself and its own checkpoint directory, nothing else. */
function logAgentVolumeAllowed(name: string | undefined, hostPath: Record<string, unknown>, logRoot: string, namespace: string | undefined): boolean {
  const where = asString(hostPath.path);
  if (where === undefined || where.split("/").includes("..")) return false;
  const normalized = path.posix.normalize(where).replace(/\/+$/, "");
  if (name === LOG_AGENT_VOLUMES.root) return normalized === path.posix.normalize(logRoot).replace(/\/+$/, "");
  if (name === LOG_AGENT_VOLUMES.state) return namespace !== undefined && normalized === `${LOG_AGENT_STATE_ROOT}/${namespace}`;
  return false;
}

export const platformVolumeRules = [hostpathLogRootOnly];
