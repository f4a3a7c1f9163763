import * as k8s from "@pulumi/kubernetes";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

/** The user and group an image runs as; each official image documents its own. */
export interface ImageUser {
  /** Numeric user id (never 0). */
  uid: number;
  /** Numeric group id, also used as `fsGroup` so the process can write its volumes. */
  gid: number;
}

/**
 * Pod-level settings of the Pod Security Standards' `restricted` profile. `fsGroupChangePolicy:
 * OnRootMismatch` avoids a recursive chown of large data volumes on every restart.
 */
export function restrictedPodSecurity(user: ImageUser): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    fsGroup: user.gid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level settings: no privilege escalation, read-only root filesystem, every capability dropped. */
export function restrictedContainerSecurity(user: ImageUser): SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}
