// The node log agent (components/logs/log-agent.ts in the platform repo): the one workload that reads the
// whole log root, keeps a checkpoint on the node and deletes shipped files. hostPath directories are
// created root-owned (mode 0755) by the kubelet and fsGroup does not apply to them, so its containers
// run as UID 0 with every capability dropped. The rules that would forbid that admit exactly this shape.
import type { KubeObject } from "./k8s";

/** The node directory under which the agent keeps one checkpoint directory per apps namespace. */
export const LOG_AGENT_STATE_ROOT = "/var/lib/classroom-platform/log-agent";
export const LOG_AGENT_VOLUMES = { root: "log-root", state: "checkpoints" } as const;

/** Whether the object is the platform's log agent DaemonSet. */
export function isLogAgent(obj: KubeObject): boolean {
  return obj.kind === "DaemonSet" && obj.labels["app.kubernetes.io/name"] === "log-agent" && obj.labels["app.kubernetes.io/part-of"] === "classroom-platform";
}
