/**
 * The platform's Prometheus rules as plain data: one pure builder renders the same groups into the
 * PrometheusRule object (operator mode) and into a rules file for `promtool` (the unit tests, and
 * clusters without the operator). Selectors name the stack's namespaces so that one Prometheus can
 * watch several stacks without one stack's alert answering for another's.
 *
 * The scrape (PodMonitor, or the annotation-driven job) must keep the pod's labels
 * `app.kubernetes.io/name` and `classroom.io/track` as `app_kubernetes_io_name` and `classroom_io_track`,
 * and add `namespace` and `pod` (components/monitoring/scrape.ts does so; README shows the annotation
 * job's relabeling).
 */

/** What a rule belongs to: the policy pack checks each data system of a stack has its alerts. */
export const RULE_SYSTEMS = ["zookeeper", "kafka", "redis", "mysql", "mq", "scheduler", "discovery", "log-agent"] as const;
export type RuleSystem = (typeof RULE_SYSTEMS)[number];

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "critical" | "warning"; system: RuleSystem };
  annotations: { summary: string; description: string; runbook: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<AlertRule | RecordingRule>;
}

export interface RulesInput {
  namespaces: { data: string; apps: string };
  zookeeper: { replicas: number };
  redis: { sentinel: boolean; sentinelQuorum: number };
  mysql: { replicas: number };
  /** Minutes the outage buffer's backlog must grow before the alert fires. */
  backlogGrowingMinutes: number;
  /** Seconds a MySQL replica may trail its source before the alert fires. */
  mysqlReplicaLagSeconds: number;
}

/** A label matcher list for one workload of the stack: `{namespace="…",app_kubernetes_io_name="…"}`. */
function sel(namespace: string, name?: string, extra = ""): string {
  return `{namespace="${namespace}"${name ? `,app_kubernetes_io_name="${name}"` : ""}${extra ? `,${extra}` : ""}}`;
}

const majority = (n: number) => Math.floor(n / 2) + 1;

export function zookeeperRules(input: RulesInput): AlertRule[] {
  const zk = sel(input.namespaces.data, "zookeeper");
  const q = majority(input.zookeeper.replicas);
  // Fewer than a majority of servers answering the scrape, or (an ensemble) no server acting as leader
  // with a majority synced: ZooKeeper refuses every write then, and discovery serves cached answers.
  const quorum = [`count(up${zk} == 1) < ${q}`, `absent(up${zk} == 1)`];
  if (input.zookeeper.replicas > 1) quorum.push(`absent(synced_followers${zk})`, `max(synced_followers${zk}) + 1 < ${q}`);
  return [
    {
      alert: "ZooKeeperQuorumLost",
      expr: quorum.join(" or "),
      for: "1m",
      labels: { severity: "critical", system: "zookeeper" },
      annotations: {
        summary: `ZooKeeper in ${input.namespaces.data} has no quorum (needs ${q} of ${input.zookeeper.replicas} servers)`,
        description:
          "Fewer than a majority of ZooKeeper servers are up, or no leader has a majority of synced followers. Registrations fail and every watcher serves its last known instances, then the DNS fallback.",
        runbook: `kubectl -n ${input.namespaces.data} get pods -l app.kubernetes.io/name=zookeeper; check each server's 'srvr' (mode: leader/follower) and its log under the log root; a server that cannot rejoin usually has a full disk or a myid/data mismatch: fix it, never delete the data of more than a minority at once.`,
      },
    },
    {
      alert: "ZooKeeperLeaderChanges",
      // Every server records each election it takes part in: more than one election's worth in an hour.
      expr: `sum(increase(election_time_count${zk}[1h])) > ${input.zookeeper.replicas}`,
      labels: { severity: "warning", system: "zookeeper" },
      annotations: {
        summary: `ZooKeeper in ${input.namespaces.data} elected a leader more than once in the last hour`,
        description: "Repeated elections: each one pauses writes and may expire sessions (ephemeral registrations vanish and come back).",
        runbook:
          "Look for servers restarting (OOM, liveness), long GC pauses or a slow disk (fsync warnings in the log), and network loss between zookeeper pods.",
      },
    },
  ];
}

export function kafkaRules(input: RulesInput): AlertRule[] {
  const k = sel(input.namespaces.data, "kafka");
  return [
    {
      alert: "KafkaUnderReplicatedPartitions",
      expr: `sum(kafka_server_replicamanager_underreplicatedpartitions${k}) > 0`,
      for: "10m",
      labels: { severity: "warning", system: "kafka" },
      annotations: {
        summary: `Kafka in ${input.namespaces.data} has {{ $value }} under-replicated partitions`,
        description: "Some partitions have fewer in-sync replicas than replicas; one more broker loss may make them unavailable or lose acknowledged writes.",
        runbook:
          "kafka-topics.sh --describe --under-replicated-partitions; find the broker missing from the ISR (down, disk full, or too slow) and bring it back; do not reassign partitions while it is recovering.",
      },
    },
    {
      alert: "KafkaOfflinePartitions",
      expr: `max(kafka_controller_kafkacontroller_offlinepartitionscount${k}) > 0`,
      for: "1m",
      labels: { severity: "critical", system: "kafka" },
      annotations: {
        summary: `Kafka in ${input.namespaces.data} has {{ $value }} offline partitions`,
        description: "Partitions without a leader: producers fail over to the Redis outage buffer and consumers stall.",
        runbook:
          "kafka-topics.sh --describe --unavailable-partitions; restart the brokers holding those replicas; never enable unclean leader election without deciding to lose data. Watch the buffer backlog (ClassroomBufferBacklogGrowing).",
      },
    },
    {
      alert: "KafkaNoActiveController",
      expr: `sum(kafka_controller_kafkacontroller_activecontrollercount${k}) != 1 or absent(kafka_controller_kafkacontroller_activecontrollercount${k})`,
      for: "1m",
      labels: { severity: "critical", system: "kafka" },
      annotations: {
        summary: `Kafka in ${input.namespaces.data} has {{ $value }} active controllers instead of one`,
        description:
          "The KRaft quorum has no active controller (or reports several): no leader elections, no topic changes; brokers fence themselves once their lease runs out.",
        runbook:
          "kafka-metadata-quorum.sh describe --status; bring a majority of controller voters back (their pods, disks, and the 9093 controller port between them).",
      },
    },
  ];
}

export function redisRules(input: RulesInput): AlertRule[] {
  if (!input.redis.sentinel) {
    const r = sel(input.namespaces.data, "redis");
    return [
      {
        alert: "RedisDown",
        expr: `redis_up${r} == 0 or absent(redis_up${r})`,
        for: "1m",
        labels: { severity: "critical", system: "redis" },
        annotations: {
          summary: `Redis in ${input.namespaces.data} is not answering`,
          description: "The scheduler stops claiming fires and the outage buffer cannot take messages while Kafka is down.",
          runbook: `kubectl -n ${input.namespaces.data} describe pod -l app.kubernetes.io/name=redis; check memory (maxmemory, OOM kills) and the volume.`,
        },
      },
    ];
  }
  const data = sel(input.namespaces.data, "redis", `app_kubernetes_io_instance="redis"`);
  const sentinels = sel(input.namespaces.data, "redis", `app_kubernetes_io_instance="redis-sentinel"`);
  return [
    {
      alert: "RedisMasterLinkDown",
      expr: `redis_master_link_up${data} == 0`,
      for: "1m",
      labels: { severity: "critical", system: "redis" },
      annotations: {
        summary: "Redis replica {{ $labels.pod }} lost its link to the master",
        description: "The replica is not receiving writes; a failover to it now would lose them.",
        runbook:
          "redis-cli INFO replication on the replica and the master; check the replication user's password in the credentials Secret and the network between the pods.",
      },
    },
    {
      alert: "RedisSentinelDisagreement",
      // Sentinels naming different masters, or fewer healthy sentinels than the quorum: no safe failover.
      expr: `count(count by (master_address) (redis_sentinel_master_status${sentinels})) > 1 or min(redis_sentinel_master_ok_sentinels${sentinels}) < ${input.redis.sentinelQuorum}`,
      for: "2m",
      labels: { severity: "critical", system: "redis" },
      annotations: {
        summary: `Redis Sentinels in ${input.namespaces.data} disagree on the master or lack a quorum`,
        description: "Clients asking different sentinels reach different masters (split brain), or a failover cannot be authorised.",
        runbook:
          "redis-cli -p 26379 SENTINEL masters on each sentinel pod; restart a sentinel that names an old master (it re-learns from the others); SENTINEL CKQUORUM <master> must say OK.",
      },
    },
  ];
}

export function mysqlRules(input: RulesInput): AlertRule[] {
  const m = sel(input.namespaces.data, "mysql");
  const rules: AlertRule[] = [
    {
      alert: "MySqlDown",
      expr: `mysql_up${m} == 0`,
      for: "1m",
      labels: { severity: "critical", system: "mysql" },
      annotations: {
        summary: "MySQL {{ $labels.pod }} is not answering its exporter",
        description: "The exporter cannot connect to the server in its pod.",
        runbook: "kubectl logs the mysql container; check the volume (disk full) and the error log under the log root.",
      },
    },
  ];
  if (input.mysql.replicas > 1) {
    rules.push({
      alert: "MySqlReplicaLag",
      // MySQL 8.4 answers SHOW REPLICA STATUS, which the exporter reports under its slave_status prefix.
      expr: `max by (namespace, pod) (mysql_slave_status_seconds_behind_source${m}) > ${input.mysqlReplicaLagSeconds}`,
      for: "5m",
      labels: { severity: "warning", system: "mysql" },
      annotations: {
        summary: "MySQL replica {{ $labels.pod }} is {{ $value }} s behind its source",
        description: "Reads from this replica return stale data, and a failover to it would lose the difference.",
        runbook:
          "SHOW REPLICA STATUS on the replica: an SQL thread error needs fixing by hand; a growing lag with no error means the replica cannot keep up (long transactions on the source, slow disk).",
      },
    });
  }
  return rules;
}

export function runtimeRules(input: RulesInput): AlertRule[] {
  // The platform's daemons run as services of the apps namespace (infra/daemons.ts).
  const d = sel(input.namespaces.apps, "mq-replayer");
  const s = sel(input.namespaces.apps, "scheduler");
  const n = input.backlogGrowingMinutes;
  const anyNs = `{namespace=~"${input.namespaces.data}|${input.namespaces.apps}"}`;
  return [
    {
      alert: "ClassroomBufferBacklogGrowing",
      // Every replayer replica reports every shard; max picks one reading per shard.
      expr: `max by (namespace, shard) (deriv(classroom_mq_buffer_backlog_messages${d}[${n}m])) > 0 and max by (namespace, shard) (classroom_mq_buffer_backlog_messages${d}) > 0`,
      for: `${n}m`,
      labels: { severity: "warning", system: "mq" },
      annotations: {
        summary: `The Kafka outage buffer's shard {{ $labels.shard }} has grown for ${n} minutes`,
        description:
          "Producers are writing to Redis because Kafka does not take their messages, and the replayer is not keeping up. Redis memory is the limit of this buffer.",
        runbook: "Check Kafka (KafkaOfflinePartitions, KafkaNoActiveController) and the replayer's log; watch Redis memory (INFO memory) against maxmemory.",
      },
    },
    {
      alert: "ClassroomReplayerStuck",
      expr: `(max by (namespace, shard) (classroom_mq_buffer_backlog_messages${d}) > 0) unless on (namespace, shard) (sum by (namespace, shard) (rate(classroom_mq_replayed_messages_total${d}[5m])) > 0)`,
      for: "10m",
      labels: { severity: "critical", system: "mq" },
      annotations: {
        summary: "Shard {{ $labels.shard }} of the outage buffer holds messages and none were replayed for 10 minutes",
        description:
          "Nobody replays this shard: every replayer is down, holds no lease, or its Kafka sends keep failing (classroom_mq_replay_kafka_failures_total).",
        runbook:
          "kubectl logs the replayer (lease-lost, kafka-error events); classroom_mq_replayer_held_shards shows who holds what; restart the replayer if its leases lapse; fix Kafka if sends fail.",
      },
    },
    {
      alert: "ClassroomSchedulerMisses",
      expr: `sum by (namespace, scheduled_job, reason) (increase(classroom_scheduler_misses_total${s}[10m])) > 0`,
      labels: { severity: "warning", system: "scheduler" },
      annotations: {
        summary: "Scheduled job {{ $labels.scheduled_job }} missed fires ({{ $labels.reason }}) in the last 10 minutes",
        description:
          "misfired: a fire could not start within its misfire threshold; discarded: the job was still running (block discard-later); claim-failed: Redis did not answer the claim.",
        runbook:
          "npm run scheduler:status (or classroom-scheduler-status in a scheduler pod) shows the job's history; misfired means Redis or the replicas were away; discarded means runs outlast the schedule period.",
      },
    },
    {
      alert: "ClassroomDiscoveryFallback",
      expr: `max by (namespace, pod, watched_service, source) (classroom_discovery_source${anyNs.replace("}", `,source!="zookeeper"}`)}) == 1`,
      for: "2m",
      labels: { severity: "warning", system: "discovery" },
      annotations: {
        summary: "{{ $labels.pod }} finds {{ $labels.watched_service }} through {{ $labels.source }}, not ZooKeeper",
        description:
          "The discovery library lost ZooKeeper: it serves the last known instances, then the Kubernetes Service DNS name, which ignores canary weights.",
        runbook: "Check ZooKeeperQuorumLost and the pod's NetworkPolicy to zookeeper:2181; classroom_discovery_staleness_seconds shows for how long.",
      },
    },
    {
      alert: "ClassroomLogAgentLagging",
      // The OpenTelemetry Collector's own telemetry: a queue filling up, or records refused or dropped. Its
      // Prometheus endpoint serves counters without the _total suffix (collector 0.165; the log agent test
      // reads the names from a real collector), and send_failed only once a send has failed for good.
      expr: [
        `max by (namespace, pod, exporter) (otelcol_exporter_queue_size{app_kubernetes_io_name="log-agent"} / otelcol_exporter_queue_capacity{app_kubernetes_io_name="log-agent"}) > 0.8`,
        `sum by (namespace, pod) (rate(otelcol_receiver_refused_log_records{app_kubernetes_io_name="log-agent"}[5m])) > 0`,
        `sum by (namespace, pod) (rate(otelcol_exporter_send_failed_log_records{app_kubernetes_io_name="log-agent"}[5m])) > 0`,
      ].join(" or "),
      for: "10m",
      labels: { severity: "warning", system: "log-agent" },
      annotations: {
        summary: "The log agent on {{ $labels.pod }} is falling behind",
        description:
          "Its export queue is over 80% full, or it refuses or fails to send log records. The files stay on the node (nothing is lost until retention deletes them), but logs arrive late.",
        runbook:
          "Check the destination (Kafka classroom.logs topic or the OTLP endpoint) and the agent's log; the file_storage checkpoint lets a restarted agent resume.",
      },
    },
  ];
}

/** The golden-signal series the recording rules produce; canary analysis checks may query them. */
export const GOLDEN_SIGNAL_RECORDS = [
  "classroom:http_requests:rate5m",
  "classroom:http_errors:rate5m",
  "classroom:http_errors:ratio_rate5m",
  "classroom:http_request_duration_seconds:p50_5m",
  "classroom:http_request_duration_seconds:p99_5m",
] as const;

/**
 * Golden signals per service and track under one label set (`namespace`, `service`, `track`), the
 * names the release tooling's canary analysis queries. Services expose the OpenTelemetry HTTP server
 * histogram `http_server_request_duration_seconds` (with `http_response_status_code`).
 */
export function goldenSignalRules(input: RulesInput): RecordingRule[] {
  const src = (suffix: string, extra = "") =>
    `label_replace(label_replace(rate(http_server_request_duration_seconds_${suffix}{namespace="${input.namespaces.apps}"${extra}}[5m]), "service", "$1", "app_kubernetes_io_name", "(.+)"), "track", "$1", "classroom_io_track", "(.+)")`;
  return [
    { record: "classroom:http_requests:rate5m", expr: `sum by (namespace, service, track) (${src("count")})` },
    // 0, not absent, for a service without errors: the ratio below must exist for every service that serves.
    {
      record: "classroom:http_errors:rate5m",
      expr: `sum by (namespace, service, track) (${src("count", `,http_response_status_code=~"5.."`)}) or 0 * sum by (namespace, service, track) (${src("count")})`,
    },
    { record: "classroom:http_errors:ratio_rate5m", expr: "classroom:http_errors:rate5m / classroom:http_requests:rate5m" },
    { record: "classroom:http_request_duration_seconds:p50_5m", expr: `histogram_quantile(0.5, sum by (namespace, service, track, le) (${src("bucket")}))` },
    { record: "classroom:http_request_duration_seconds:p99_5m", expr: `histogram_quantile(0.99, sum by (namespace, service, track, le) (${src("bucket")}))` },
  ];
}

/** Every group of the stack, in a stable order. */
export function platformRuleGroups(input: RulesInput): RuleGroup[] {
  return [
    { name: "classroom-zookeeper", rules: zookeeperRules(input) },
    { name: "classroom-kafka", rules: kafkaRules(input) },
    { name: "classroom-redis", rules: redisRules(input) },
    { name: "classroom-mysql", rules: mysqlRules(input) },
    { name: "classroom-runtime", rules: runtimeRules(input) },
    { name: "classroom-golden-signals", interval: "30s", rules: goldenSignalRules(input) },
  ];
}
