// hostPath is the one node-local escape the platform allows: each service's log directory under the
// stack's log root (the migration's log shippers read them there). Anything else on the node is off limits.
import * as path from "node:path";
import { resourceRule } from "./define";
import { asArray, asObject, asString, at, isAbsent, isUnknown } from "./k8s";
import { podSpec, POD_KINDS } from "./workloads";

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
  if (where === undefined || !path.posix.isAbsolute(where)) return `volume '${volumeName}' has host path ${JSON.stringify(p)}; it must be an absolute path under ${config.logRoot}`;
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

export const hostpathLogRootOnly = resourceRule<HostPathConfig>({
  name: "hostpath-log-root-only",
  description: "hostPath volumes are allowed only for the volume named `logs`, as a directory strictly below the stack's log root; never for anything else (PersistentVolumes included).",
  enforcementLevel: "mandatory",
  kinds: [...POD_KINDS, "PersistentVolume"],
  config: {
    logRoot: {
      type: "string",
      pattern: "^/",
      default: "/data/logs/classroom",
      description: "Host directory under which service log directories live (default /data/logs/classroom).",
    },
    logVolumeName: {
      type: "string",
      default: "logs",
      description: "The only pod volume name that may be a hostPath (default logs).",
    },
  },
  check(obj, config, report) {
    if (obj.kind === "PersistentVolume") {
      const hp = at(obj.raw, "spec", "hostPath");
      if (!isAbsent(hp)) report(`uses hostPath ${String(asString(at(hp, "path")) ?? "")}; hostPath is allowed only for pod log volumes under ${config.logRoot}`);
      return;
    }
    asArray(podSpec(obj)?.volumes).forEach((v, i) => {
      const vol = asObject(v);
      const hp = vol?.hostPath;
      if (!vol || isAbsent(hp) || isUnknown(hp)) return;
      const problem = hostPathProblem(asString(vol.name) ?? `#${i}`, asObject(hp) ?? {}, config, !isUnknown(vol.name));
      if (problem) report(problem);
    });
  },
});

export const platformVolumeRules = [hostpathLogRootOnly];
