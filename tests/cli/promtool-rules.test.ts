import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { AlertRule, platformRuleGroups, RulesInput } from "../../components/monitoring/rules";
import { rulesFileYaml } from "../../components/monitoring/rules-file";

/**
 * Every alert of the platform under `promtool test rules` (Debian's prometheus package, installed by
 * tools/provision/10-debian.sh): for each rule, input series that must fire it with the labels and
 * annotations the on-call engineer will read, and the neighbouring case that must stay silent. The rules
 * come from the same builder the PrometheusRule is rendered from, so a broken rule fails here.
 */
const PROMTOOL = "/usr/bin/promtool";

const input: RulesInput = {
  namespaces: { data: "d", apps: "a" },
  zookeeper: { replicas: 3 },
  redis: { sentinel: true, sentinelQuorum: 2 },
  mysql: { replicas: 2 },
  backlogGrowingMinutes: 10,
  mysqlReplicaLagSeconds: 30,
};

interface Series {
  series: string;
  values: string;
}
interface AlertCase {
  alert: string;
  why: string;
  series: Series[];
  evalTime: string;
  /** Labels of each expected alert beyond the rule's own (severity, system); empty: must not fire. */
  fires: Array<Record<string, string>>;
  /** What `{{ $value }}` renders to in the expected annotations. */
  value?: string;
}

const zk = (pod: string) => `namespace="d",app_kubernetes_io_name="zookeeper",pod="${pod}"`;
const kafka = (pod: string) => `namespace="d",app_kubernetes_io_name="kafka",pod="${pod}"`;
const redisData = (pod: string) => `namespace="d",app_kubernetes_io_name="redis",app_kubernetes_io_instance="redis",pod="${pod}"`;
const sentinel = (pod: string) => `namespace="d",app_kubernetes_io_name="redis",app_kubernetes_io_instance="redis-sentinel",pod="${pod}"`;
const mysql = (pod: string) => `namespace="d",app_kubernetes_io_name="mysql",pod="${pod}"`;
const replayer = `namespace="a",app_kubernetes_io_name="mq-replayer",pod="mq-replayer-0"`;
const scheduler = `namespace="a",app_kubernetes_io_name="scheduler",pod="scheduler-0"`;
const agent = `namespace="logs",app_kubernetes_io_name="log-agent",pod="log-agent-x"`;

const zkUp = (a: string, b: string, c: string): Series[] => [
  { series: `up{${zk("zookeeper-0")}}`, values: a },
  { series: `up{${zk("zookeeper-1")}}`, values: b },
  { series: `up{${zk("zookeeper-2")}}`, values: c },
];

const cases: AlertCase[] = [
  {
    alert: "ZooKeeperQuorumLost",
    why: "two of three servers down",
    evalTime: "5m",
    fires: [{}],
    series: [...zkUp("1x10", "0x10", "0x10"), { series: `synced_followers{${zk("zookeeper-0")}}`, values: "0x10" }],
  },
  {
    alert: "ZooKeeperQuorumLost",
    why: "all servers up but none leads",
    evalTime: "5m",
    fires: [{ namespace: "d", app_kubernetes_io_name: "zookeeper" }],
    series: zkUp("1x10", "1x10", "1x10"),
  },
  {
    alert: "ZooKeeperQuorumLost",
    why: "inverse: one server down, the leader has a synced follower",
    evalTime: "5m",
    fires: [],
    series: [...zkUp("1x10", "1x10", "0x10"), { series: `synced_followers{${zk("zookeeper-0")}}`, values: "1x10" }],
  },
  {
    alert: "ZooKeeperLeaderChanges",
    why: "an election every few minutes",
    evalTime: "60m",
    fires: [{}],
    series: ["zookeeper-0", "zookeeper-1", "zookeeper-2"].map((p) => ({ series: `election_time_count{${zk(p)}}`, values: "0+0.2x60" })),
  },
  {
    alert: "ZooKeeperLeaderChanges",
    why: "inverse: the one election at start-up",
    evalTime: "60m",
    fires: [],
    series: ["zookeeper-0", "zookeeper-1", "zookeeper-2"].map((p) => ({ series: `election_time_count{${zk(p)}}`, values: "1x60" })),
  },

  {
    alert: "KafkaUnderReplicatedPartitions",
    why: "two partitions short of replicas for 10 minutes",
    evalTime: "15m",
    fires: [{}],
    value: "2",
    series: [
      { series: `kafka_server_replicamanager_underreplicatedpartitions{${kafka("kafka-0")}}`, values: "2x20" },
      { series: `kafka_server_replicamanager_underreplicatedpartitions{${kafka("kafka-1")}}`, values: "0x20" },
    ],
  },
  {
    alert: "KafkaUnderReplicatedPartitions",
    why: "inverse: a short blip during a rolling restart",
    evalTime: "15m",
    fires: [],
    series: [{ series: `kafka_server_replicamanager_underreplicatedpartitions{${kafka("kafka-0")}}`, values: "0x10 3x3 0x10" }],
  },
  {
    alert: "KafkaOfflinePartitions",
    why: "a partition without a leader",
    evalTime: "5m",
    fires: [{}],
    value: "1",
    series: [{ series: `kafka_controller_kafkacontroller_offlinepartitionscount{${kafka("kafka-0")}}`, values: "1x10" }],
  },
  {
    alert: "KafkaOfflinePartitions",
    why: "inverse: every partition has a leader",
    evalTime: "5m",
    fires: [],
    series: [{ series: `kafka_controller_kafkacontroller_offlinepartitionscount{${kafka("kafka-0")}}`, values: "0x10" }],
  },
  {
    alert: "KafkaNoActiveController",
    why: "no node is the active controller",
    evalTime: "5m",
    fires: [{}],
    value: "0",
    series: ["kafka-0", "kafka-1", "kafka-2"].map((p) => ({ series: `kafka_controller_kafkacontroller_activecontrollercount{${kafka(p)}}`, values: "0x10" })),
  },
  {
    alert: "KafkaNoActiveController",
    why: "inverse: exactly one active controller",
    evalTime: "5m",
    fires: [],
    series: ["kafka-0", "kafka-1", "kafka-2"].map((p, i) => ({
      series: `kafka_controller_kafkacontroller_activecontrollercount{${kafka(p)}}`,
      values: i === 1 ? "1x10" : "0x10",
    })),
  },

  {
    alert: "RedisMasterLinkDown",
    why: "a replica lost its master",
    evalTime: "5m",
    fires: [{ namespace: "d", app_kubernetes_io_name: "redis", app_kubernetes_io_instance: "redis", pod: "redis-1" }],
    series: [{ series: `redis_master_link_up{${redisData("redis-1")}}`, values: "0x10" }],
  },
  {
    alert: "RedisMasterLinkDown",
    why: "inverse: the link is up",
    evalTime: "5m",
    fires: [],
    series: [{ series: `redis_master_link_up{${redisData("redis-1")}}`, values: "1x10" }],
  },
  {
    alert: "RedisSentinelDisagreement",
    why: "two sentinels name different masters",
    evalTime: "5m",
    fires: [{}],
    series: [
      {
        series: `redis_sentinel_master_status{${sentinel("redis-sentinel-0")},master_name="classroom",master_address="10.0.0.1:6379",master_status="ok"}`,
        values: "1x10",
      },
      {
        series: `redis_sentinel_master_status{${sentinel("redis-sentinel-1")},master_name="classroom",master_address="10.0.0.2:6379",master_status="ok"}`,
        values: "1x10",
      },
      { series: `redis_sentinel_master_ok_sentinels{${sentinel("redis-sentinel-0")},master_name="classroom",master_address="10.0.0.1:6379"}`, values: "3x10" },
    ],
  },
  {
    alert: "RedisSentinelDisagreement",
    why: "fewer healthy sentinels than the quorum",
    evalTime: "5m",
    fires: [{}],
    series: [
      {
        series: `redis_sentinel_master_status{${sentinel("redis-sentinel-0")},master_name="classroom",master_address="10.0.0.1:6379",master_status="ok"}`,
        values: "1x10",
      },
      { series: `redis_sentinel_master_ok_sentinels{${sentinel("redis-sentinel-0")},master_name="classroom",master_address="10.0.0.1:6379"}`, values: "1x10" },
    ],
  },
  {
    alert: "RedisSentinelDisagreement",
    why: "inverse: all agree, quorum healthy",
    evalTime: "5m",
    fires: [],
    series: [
      {
        series: `redis_sentinel_master_status{${sentinel("redis-sentinel-0")},master_name="classroom",master_address="10.0.0.1:6379",master_status="ok"}`,
        values: "1x10",
      },
      {
        series: `redis_sentinel_master_status{${sentinel("redis-sentinel-1")},master_name="classroom",master_address="10.0.0.1:6379",master_status="ok"}`,
        values: "1x10",
      },
      { series: `redis_sentinel_master_ok_sentinels{${sentinel("redis-sentinel-0")},master_name="classroom",master_address="10.0.0.1:6379"}`, values: "3x10" },
    ],
  },

  {
    alert: "MySqlDown",
    why: "the exporter cannot reach its server",
    evalTime: "5m",
    fires: [{ namespace: "d", app_kubernetes_io_name: "mysql", pod: "mysql-1" }],
    series: [{ series: `mysql_up{${mysql("mysql-1")}}`, values: "0x10" }],
  },
  { alert: "MySqlDown", why: "inverse: the server answers", evalTime: "5m", fires: [], series: [{ series: `mysql_up{${mysql("mysql-1")}}`, values: "1x10" }] },
  {
    alert: "MySqlReplicaLag",
    why: "a replica two minutes behind for five minutes",
    evalTime: "8m",
    fires: [{ namespace: "d", pod: "mysql-1" }],
    value: "120",
    series: [{ series: `mysql_slave_status_seconds_behind_source{${mysql("mysql-1")},channel_name=""}`, values: "120x10" }],
  },
  {
    alert: "MySqlReplicaLag",
    why: "inverse: a few seconds behind",
    evalTime: "8m",
    fires: [],
    series: [{ series: `mysql_slave_status_seconds_behind_source{${mysql("mysql-1")},channel_name=""}`, values: "5x10" }],
  },

  {
    alert: "ClassroomBufferBacklogGrowing",
    why: "shard 0 grows for longer than 10 minutes",
    evalTime: "25m",
    fires: [{ namespace: "a", shard: "0" }],
    series: [
      { series: `classroom_mq_buffer_backlog_messages{${replayer},shard="0"}`, values: "0+10x30" },
      { series: `classroom_mq_buffer_backlog_messages{${replayer},shard="1"}`, values: "0x30" },
    ],
  },
  {
    alert: "ClassroomBufferBacklogGrowing",
    why: "inverse: a backlog that drains",
    evalTime: "25m",
    fires: [],
    series: [{ series: `classroom_mq_buffer_backlog_messages{${replayer},shard="0"}`, values: "500-10x30" }],
  },
  {
    alert: "ClassroomReplayerStuck",
    why: "a backlog and nothing replayed",
    evalTime: "20m",
    fires: [{ namespace: "a", shard: "0" }],
    series: [
      { series: `classroom_mq_buffer_backlog_messages{${replayer},shard="0"}`, values: "100x20" },
      { series: `classroom_mq_replayed_messages_total{${replayer},shard="0"}`, values: "50x20" },
    ],
  },
  {
    alert: "ClassroomReplayerStuck",
    why: "inverse: a backlog being replayed",
    evalTime: "20m",
    fires: [],
    series: [
      { series: `classroom_mq_buffer_backlog_messages{${replayer},shard="0"}`, values: "100x20" },
      { series: `classroom_mq_replayed_messages_total{${replayer},shard="0"}`, values: "0+100x20" },
    ],
  },
  {
    alert: "ClassroomSchedulerMisses",
    why: "a misfired fire",
    evalTime: "6m",
    fires: [{ namespace: "a", scheduled_job: "report", reason: "misfired" }],
    series: [{ series: `classroom_scheduler_misses_total{${scheduler},scheduled_job="report",reason="misfired"}`, values: "0 0 0 1 1 1 1 1" }],
  },
  {
    alert: "ClassroomSchedulerMisses",
    why: "inverse: misses long ago only",
    evalTime: "30m",
    fires: [],
    series: [{ series: `classroom_scheduler_misses_total{${scheduler},scheduled_job="report",reason="misfired"}`, values: "0 3x40" }],
  },
  {
    alert: "ClassroomDiscoveryFallback",
    why: "a caller on the DNS fallback",
    evalTime: "5m",
    fires: [{ namespace: "a", pod: "room-api-0", watched_service: "grading-rpc", source: "kubernetes-dns" }],
    series: [
      { series: `classroom_discovery_source{namespace="a",pod="room-api-0",watched_service="grading-rpc",source="kubernetes-dns"}`, values: "1x10" },
      { series: `classroom_discovery_source{namespace="a",pod="room-api-0",watched_service="grading-rpc",source="zookeeper"}`, values: "0x10" },
    ],
  },
  {
    alert: "ClassroomDiscoveryFallback",
    why: "inverse: answers from ZooKeeper (and another stack's namespace ignored)",
    evalTime: "5m",
    fires: [],
    series: [
      { series: `classroom_discovery_source{namespace="a",pod="room-api-0",watched_service="grading-rpc",source="kubernetes-dns"}`, values: "0x10" },
      { series: `classroom_discovery_source{namespace="a",pod="room-api-0",watched_service="grading-rpc",source="zookeeper"}`, values: "1x10" },
      { series: `classroom_discovery_source{namespace="other",pod="x-0",watched_service="grading-rpc",source="kubernetes-dns"}`, values: "1x10" },
    ],
  },
  {
    alert: "ClassroomLogAgentLagging",
    why: "the export queue is 90% full",
    evalTime: "15m",
    fires: [{ namespace: "logs", pod: "log-agent-x", exporter: "kafka" }],
    series: [
      { series: `otelcol_exporter_queue_size{${agent},exporter="kafka"}`, values: "900x20" },
      { series: `otelcol_exporter_queue_capacity{${agent},exporter="kafka"}`, values: "1000x20" },
    ],
  },
  {
    alert: "ClassroomLogAgentLagging",
    why: "the receiver refuses records",
    evalTime: "15m",
    fires: [{ namespace: "logs", pod: "log-agent-x" }],
    series: [{ series: `otelcol_receiver_refused_log_records{${agent},receiver="filelog"}`, values: "0+5x20" }],
  },
  {
    alert: "ClassroomLogAgentLagging",
    why: "inverse: a near-empty queue, nothing refused",
    evalTime: "15m",
    fires: [],
    series: [
      { series: `otelcol_exporter_queue_size{${agent},exporter="kafka"}`, values: "10x20" },
      { series: `otelcol_exporter_queue_capacity{${agent},exporter="kafka"}`, values: "1000x20" },
      { series: `otelcol_receiver_refused_log_records{${agent},receiver="filelog"}`, values: "7x20" },
    ],
  },
];

const groups = platformRuleGroups(input);
const alerts = new Map(
  groups
    .flatMap((g) => g.rules)
    .filter((r): r is AlertRule => "alert" in r)
    .map((r) => [r.alert, r]),
);

/** Go's template, as far as the annotations use it: `{{ $labels.x }}` and `{{ $value }}`. */
function render(text: string, labels: Record<string, string>, value: string | undefined): string {
  return text
    .replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_m, l: string) => labels[l] ?? "")
    .replace(/\{\{ \$value \}\}/g, () => {
      if (value === undefined) throw new Error(`annotation uses {{ $value }}; give the case a value: ${text}`);
      return value;
    });
}

function promtoolTests(): unknown {
  return {
    rule_files: ["rules.yml"],
    evaluation_interval: "1m",
    tests: [
      ...cases.map((c) => {
        const rule = alerts.get(c.alert)!;
        return {
          name: `${c.alert}: ${c.why}`,
          interval: "1m",
          input_series: c.series,
          alert_rule_test: [
            {
              eval_time: c.evalTime,
              alertname: c.alert,
              exp_alerts: c.fires.map((labels) => {
                const all = { ...labels, ...rule.labels };
                return { exp_labels: all, exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, render(v, all, c.value)])) };
              }),
            },
          ],
        };
      }),
      {
        name: "golden signals: request rate, error ratio and latency per service and track",
        interval: "1m",
        input_series: [
          // canary: 600 requests a minute, 60 of them 500s, all in the 0.1 s bucket
          {
            series: `http_server_request_duration_seconds_count{namespace="a",app_kubernetes_io_name="room-api",classroom_io_track="canary",pod="room-api-canary-0",http_response_status_code="200"}`,
            values: "0+540x10",
          },
          {
            series: `http_server_request_duration_seconds_count{namespace="a",app_kubernetes_io_name="room-api",classroom_io_track="canary",pod="room-api-canary-0",http_response_status_code="500"}`,
            values: "0+60x10",
          },
          // stable: 1200 a minute, no errors
          {
            series: `http_server_request_duration_seconds_count{namespace="a",app_kubernetes_io_name="room-api",classroom_io_track="stable",pod="room-api-0",http_response_status_code="200"}`,
            values: "0+1200x10",
          },
          {
            series: `http_server_request_duration_seconds_bucket{namespace="a",app_kubernetes_io_name="room-api",classroom_io_track="stable",pod="room-api-0",http_response_status_code="200",le="0.1"}`,
            values: "0+600x10",
          },
          {
            series: `http_server_request_duration_seconds_bucket{namespace="a",app_kubernetes_io_name="room-api",classroom_io_track="stable",pod="room-api-0",http_response_status_code="200",le="1"}`,
            values: "0+1200x10",
          },
          {
            series: `http_server_request_duration_seconds_bucket{namespace="a",app_kubernetes_io_name="room-api",classroom_io_track="stable",pod="room-api-0",http_response_status_code="200",le="+Inf"}`,
            values: "0+1200x10",
          },
          // another stack's namespace: not this stack's signal
          {
            series: `http_server_request_duration_seconds_count{namespace="other",app_kubernetes_io_name="room-api",classroom_io_track="stable",pod="x",http_response_status_code="500"}`,
            values: "0+100x10",
          },
        ],
        promql_expr_test: [
          {
            expr: "classroom:http_requests:rate5m",
            eval_time: "10m",
            exp_samples: [
              { labels: `classroom:http_requests:rate5m{namespace="a",service="room-api",track="canary"}`, value: 10 },
              { labels: `classroom:http_requests:rate5m{namespace="a",service="room-api",track="stable"}`, value: 20 },
            ],
          },
          {
            expr: "classroom:http_errors:ratio_rate5m",
            eval_time: "10m",
            exp_samples: [
              { labels: `classroom:http_errors:ratio_rate5m{namespace="a",service="room-api",track="canary"}`, value: 0.1 },
              { labels: `classroom:http_errors:ratio_rate5m{namespace="a",service="room-api",track="stable"}`, value: 0 },
            ],
          },
          {
            expr: `classroom:http_request_duration_seconds:p50_5m{track="stable"}`,
            eval_time: "10m",
            exp_samples: [{ labels: `classroom:http_request_duration_seconds:p50_5m{namespace="a",service="room-api",track="stable"}`, value: 0.1 }],
          },
        ],
      },
    ],
  };
}

describe("platform alert and recording rules under promtool", () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: run tools/provision/10-debian.sh (Debian package prometheus)`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "promtool-"));
    fs.writeFileSync(path.join(dir, "rules.yml"), rulesFileYaml(groups));
    fs.writeFileSync(path.join(dir, "tests.yml"), stringify(promtoolTests(), { lineWidth: 0 }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    try {
      return execFileSync(PROMTOOL, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
    }
  };

  test("the rules file is valid (promtool check rules)", () => {
    expect(run("check", "rules", "rules.yml")).toMatch(/SUCCESS: \d+ rules found/);
  });

  test("every alert fires on its input series and stays silent on the inverse case (promtool test rules)", () => {
    expect(run("test", "rules", "tests.yml")).toMatch(/SUCCESS/);
  });

  test("every alert of the builder has a case that fires it and one that must not", () => {
    for (const name of alerts.keys()) {
      expect([name, cases.some((c) => c.alert === name && c.fires.length > 0)]).toEqual([name, true]);
      expect([name, cases.some((c) => c.alert === name && c.fires.length === 0)]).toEqual([name, true]);
    }
  });

  test("every alert carries a summary, a description and a runbook, and a severity", () => {
    for (const rule of alerts.values()) {
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description.length).toBeGreaterThan(20);
      expect(rule.annotations.runbook.length).toBeGreaterThan(20);
      expect(["critical", "warning"]).toContain(rule.labels.severity);
    }
  });
});
