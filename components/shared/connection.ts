import * as pulumi from "@pulumi/pulumi";

export type DataSystem = "redis" | "mysql" | "zookeeper" | "kafka";

/**
 * What a data-layer component hands to the services that use it. Names and ports are plain values
 * (known at preview, visible to policies); credentials are Pulumi secret outputs, never plain text.
 */
export interface DataConnection {
  system: DataSystem;
  /** Namespace the system runs in. */
  namespace: string;
  /** DNS name of the client Service. */
  host: string;
  /** Client port. */
  port: number;
  /** `host:port` of every server pod, for clients that want the full list (ZooKeeper connect string, Kafka bootstrap). */
  endpoints: string[];
  /** Label (value "true") a client pod must carry: the system's NetworkPolicy admits only such pods. */
  clientLabel: string;
  /** Pod labels of the servers a client may reach, for the client's egress rule. */
  serverSelector: Record<string, string>;
  /** Every port a client may need (e.g. Redis and Sentinel). */
  ports: number[];
  /** Non-secret settings a client needs, as environment variables (e.g. `REDIS_SENTINELS`). */
  settings: Record<string, string>;
  /** Secret credentials a client needs, by file name (e.g. `password`). */
  credentials: Record<string, pulumi.Output<string>>;
}
