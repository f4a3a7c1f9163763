/** The MySQL configuration and scripts, kept apart from the Kubernetes wiring in mysql.ts. */
import type { MySqlUserConfig } from "../../infra/config";

export const MYSQL_PORT = 3306;

/** An application account as `classroom:mysql.users` declares it. */
export type MySqlUser = MySqlUserConfig;

/** my.cnf: GTID replication with binary logs kept a week, so a replica can always catch up by auto-position. */
export function myCnf(innodbBufferPool: string, maxConnections: number): string {
  return `[mysqld]
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_0900_ai_ci
gtid_mode = ON
enforce_gtid_consistency = ON
log_bin = mysql-bin
binlog_expire_logs_seconds = 604800
innodb_buffer_pool_size = ${innodbBufferPool}
max_connections = ${maxConnections}
pid-file = /var/run/mysqld/mysqld.pid
socket = /var/run/mysqld/mysqld.sock
secure-file-priv = /var/lib/mysql-files
`;
}

/**
 * Runs once, when the image's entrypoint initialises an empty data directory. Passwords are read from
 * the mounted Secret at run time, so this script is safe in a ConfigMap. The primary (ordinal 0)
 * creates the schema and users (with `exporter`, the metrics sidecar's read-only account, which reaches
 * the replicas through replication); a replica points itself at the primary and turns read-only, creating
 * nothing of its own (local writes would be errant GTIDs that break a later failover).
 */
export function initScript(database: string, users: MySqlUser[], primaryHost: string): string {
  const secret = (file: string) => `$(cat /etc/mysql/secret/${file})`;
  const grants = users
    .map((u) => {
      const privileges = u.access === "readwrite" ? "ALL PRIVILEGES" : "SELECT";
      return `CREATE USER IF NOT EXISTS '${u.name}'@'%' IDENTIFIED BY '${secret(`${u.name}-password`)}';\nGRANT ${privileges} ON \\\`${database}\\\`.* TO '${u.name}'@'%';`;
    })
    .join("\n");
  return `#!/bin/bash
# Sourced by docker-entrypoint.sh on first initialisation only.
ordinal="\${HOSTNAME##*-}"
if [ "$ordinal" = 0 ]; then
docker_process_sql <<SQL
CREATE DATABASE IF NOT EXISTS \\\`${database}\\\` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
CREATE USER IF NOT EXISTS 'replication'@'%' IDENTIFIED BY '${secret("replication-password")}';
GRANT REPLICATION SLAVE ON *.* TO 'replication'@'%';
CREATE USER IF NOT EXISTS 'exporter'@'127.0.0.1' IDENTIFIED BY '${secret("exporter-password")}' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'127.0.0.1';
${grants}
SQL
else
docker_process_sql <<SQL
CHANGE REPLICATION SOURCE TO SOURCE_HOST='${primaryHost}', SOURCE_PORT=${MYSQL_PORT}, SOURCE_USER='replication', SOURCE_PASSWORD='${secret("replication-password")}', SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1;
START REPLICA;
SET PERSIST read_only = ON;
SET PERSIST super_read_only = ON;
SQL
fi
`;
}

/** Start: `server-id` must differ per server for replication; the ordinal provides it. */
export const MYSQL_START = 'exec docker-entrypoint.sh mysqld --server-id="$((100 + ${HOSTNAME##*-}))"';

/** Readiness: a real query over TCP as root (password from the Secret, via MYSQL_PWD so it never shows in `ps`). */
export const MYSQL_READY = `MYSQL_PWD="$(cat /etc/mysql/secret/root-password)" mysql -h 127.0.0.1 -P ${MYSQL_PORT} -u root -e 'SELECT 1' >/dev/null`;

/** Liveness: the server process answers on its socket (mysqladmin ping succeeds even when access is denied). */
export const MYSQL_ALIVE = "mysqladmin --socket=/var/run/mysqld/mysqld.sock ping >/dev/null 2>&1";
