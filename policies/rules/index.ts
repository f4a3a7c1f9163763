// Every rule of the pack, in report order. Tests and the synth import this module (never ../index.ts,
// which constructs the PolicyPack and so starts its gRPC server).
import type { Policies } from "@pulumi/policy";
import { apiVersionRules } from "./api-versions";
import { availabilityRules } from "./availability";
import { imageRules } from "./images";
import { labelRules } from "./labels";
import { networkingRules } from "./networking";
import { platformDataRules } from "./platform-data";
import { platformMonitoringRules } from "./platform-monitoring";
import { platformTrafficRules } from "./platform-traffic";
import { platformVolumeRules } from "./platform-volumes";
import { podSecurityRules } from "./pod-security";
import { probeRules } from "./probes";
import { resourceRules } from "./resources";
import { secretRules } from "./secrets";

export const allRules: Policies = [
  ...podSecurityRules,
  ...resourceRules,
  ...probeRules,
  ...imageRules,
  ...availabilityRules,
  ...networkingRules,
  ...labelRules,
  ...secretRules,
  ...apiVersionRules,
  ...platformVolumeRules,
  ...platformTrafficRules,
  ...platformDataRules,
  ...platformMonitoringRules,
];
