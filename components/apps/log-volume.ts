import * as k8s from "@pulumi/kubernetes";
import { LOG_ENV } from "@classroom-platform/runtime/contracts";

/** Where a service's container sees its log directory. */
export const LOG_MOUNT = "/var/log/classroom";

/**
 * The hostPath log directory of one service: `<logRoot>/<service>` on the node, shared by every pod of
 * the service on that node. File names, not directories, keep pods apart:
 *
 *   CLASSROOM_LOG_FILE = /var/log/classroom/<pod-name>_<pod-uid>.log
 *
 * The pod UID is a random UUID the API server assigns once per pod. A replacement pod (new ReplicaSet,
 * rescheduling, eviction) gets a new UID, so it can never write into a predecessor's file, even when the
 * pod name repeats (StatefulSets, or a Deployment pod name reused on the same node). A container restart
 * inside the same pod keeps the UID, so the restarted process appends to its own file (open with
 * O_APPEND) instead of starting a second one or truncating the first: the history of one pod stays in
 * one file.
 */
export function logVolume(
  logRoot: string,
  service: string,
): {
  volume: k8s.types.input.core.v1.Volume;
  mount: k8s.types.input.core.v1.VolumeMount;
  env: k8s.types.input.core.v1.EnvVar[];
} {
  return {
    volume: { name: "logs", hostPath: { path: `${logRoot.replace(/\/$/, "")}/${service}`, type: "DirectoryOrCreate" } },
    mount: { name: "logs", mountPath: LOG_MOUNT },
    env: [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
      { name: LOG_ENV.dir, value: LOG_MOUNT },
      // Kubernetes expands $(VAR) from variables defined earlier in the same list.
      { name: LOG_ENV.file, value: `${LOG_MOUNT}/$(POD_NAME)_$(POD_UID).log` },
    ],
  };
}
