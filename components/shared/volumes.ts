import * as k8s from "@pulumi/kubernetes";

type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** A writable scratch directory for a container whose root filesystem is read-only. */
export interface ScratchDir {
  /** Volume name. */
  name: string;
  /** Where the container sees it. */
  mountPath: string;
  /** Size limit; the kubelet evicts a pod that writes more. Default: `64Mi`. */
  sizeLimit?: string;
  /** `Memory` for a tmpfs (counts against the memory limit). Default: node disk. */
  medium?: "Memory";
}

export function scratchVolumes(dirs: ScratchDir[]): { volumes: Volume[]; mounts: VolumeMount[] } {
  return {
    volumes: dirs.map((d) => ({ name: d.name, emptyDir: { sizeLimit: d.sizeLimit ?? "64Mi", ...(d.medium ? { medium: d.medium } : {}) } })),
    mounts: dirs.map((d) => ({ name: d.name, mountPath: d.mountPath })),
  };
}

/** A volumeClaimTemplate for a StatefulSet's data. Its size is immutable after creation (see tools/synth upgrade checks). */
export function dataClaimTemplate(
  name: string,
  size: string,
  labels: Record<string, string>,
  storageClass?: string,
): k8s.types.input.core.v1.PersistentVolumeClaim {
  return {
    metadata: { name, labels },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: size } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
}
