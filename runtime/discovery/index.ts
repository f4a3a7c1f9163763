/** ZooKeeper service discovery with a Kubernetes Service DNS fallback. See README.md for the contract. */
export { ServiceRegistry } from "./registry";
export type { RegistryOptions } from "./registry";
export type { RegistrationHandle } from "./registration";
export type { WatchHandle, WatchOptions, WatchChange } from "./watcher/watch";
export type { ChangeSet } from "./watcher/cache";
export { createPicker } from "./picker";
export { keyPoint } from "./picker";
export type { Picker, PickTag, InstanceSource } from "./picker";
export { serviceDnsName } from "./fallback";
export type { Source, DnsFallbackOptions } from "./fallback";
export { ENV, registrationFromEnv } from "./env";
export type { EnvRegistration } from "./env";
export { DEFAULT_ROOT, DiscoveryConfigError, TRACKS, decodeNodeData, encodeNodeData } from "./contract";
export type { Instance, InstanceNodeData, InstanceRegistration, Track } from "./contract";
export { defaultLogger, silentLogger } from "./logger";
export type { Logger } from "./logger";
export type { ZkStats } from "./zk";
