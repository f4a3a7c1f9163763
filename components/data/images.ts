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
} satisfies Record<string, { image: string; user: ImageUser }>;
