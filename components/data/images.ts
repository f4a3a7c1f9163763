import { ImageUser } from "../shared/security";

/**
 * The official upstream images the components are written against, pinned, with the user each runs as.
 * The Bitnami images stopped receiving free updates in August 2025, so none are used.
 */
export const IMAGES = {
  zookeeper: { image: "zookeeper:3.9.4", user: { uid: 1000, gid: 1000 } },
  kafka: { image: "apache/kafka:4.1.1", user: { uid: 1000, gid: 1000 } },
  redis: { image: "redis:7.4.6", user: { uid: 999, gid: 999 } },
  mysql: { image: "mysql:8.4.7", user: { uid: 999, gid: 999 } },
  // Metrics sidecars: the exporters the Prometheus community maintains for each system.
  redisExporter: { image: "oliver006/redis_exporter:v1.74.0", user: { uid: 59000, gid: 59000 } },
  mysqldExporter: { image: "prom/mysqld-exporter:v0.17.2", user: { uid: 65534, gid: 65534 } },
} satisfies Record<string, { image: string; user: ImageUser }>;
