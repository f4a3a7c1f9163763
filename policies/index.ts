// The CrossGuard entry point: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`.
// Constructing the PolicyPack starts the analyzer's gRPC server, so nothing else belongs in this file.
import { PolicyPack } from "@pulumi/policy";
import { allRules } from "./rules";

new PolicyPack("classroom-platform", { policies: allRules });
