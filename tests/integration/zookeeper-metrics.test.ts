import { zookeeperRules } from "../../components/monitoring/rules";
import { eventually, RULES_INPUT } from "../support/monitoring";
import { PrometheusServer } from "../harness/prometheus";
import { ZooKeeperEnsemble } from "../harness/zookeeper";

// ZooKeeper's metrics, end to end on real parts: a three-server ensemble with the Prometheus metrics
// provider the platform's zoo.cfg turns on, scraped by a real Prometheus under the target labels the
// platform's scrape attaches; the platform's ZooKeeper alert expressions are evaluated against it.

jest.setTimeout(240_000);

const DATA_NS = RULES_INPUT.namespaces.data;
const alerts = zookeeperRules(RULES_INPUT);

let ensemble: ZooKeeperEnsemble | undefined;
let prometheus: PrometheusServer | undefined;

beforeAll(async () => {
  ensemble = await ZooKeeperEnsemble.start({ metrics: true });
  prometheus = await PrometheusServer.start(
    ensemble.members.map((m, i) => ({
      address: `127.0.0.1:${m.metricsPort!}`,
      labels: { namespace: DATA_NS, app_kubernetes_io_name: "zookeeper", pod: `zookeeper-${i}` },
    })),
  );
});

afterAll(async () => {
  await prometheus?.destroy();
  await ensemble?.destroy();
});

it("serves the metrics the ZooKeeper alerts read, with a healthy ensemble's values, and no alert expression selects anything", async () => {
  const metrics = [...new Set(alerts.flatMap((a) => a.expr.match(/\b(synced_followers|election_time_count)\b/g) ?? []))].sort();
  expect(metrics).toEqual(["election_time_count", "synced_followers"]);
  await eventually(
    () => prometheus!.seriesCount(`up{namespace="${DATA_NS}",app_kubernetes_io_name="zookeeper"} == 1`),
    (n) => n === 3,
    "three servers scraped",
  );
  // Only the leader reports synced followers: two of them in a healthy ensemble of three.
  await eventually(
    () => prometheus!.value(`max(synced_followers{namespace="${DATA_NS}",app_kubernetes_io_name="zookeeper"})`),
    (v) => v === 2,
    "synced_followers",
  );
  expect(await prometheus!.seriesCount(`election_time_count{namespace="${DATA_NS}",app_kubernetes_io_name="zookeeper"}`)).toBe(3);
  for (const a of alerts) expect({ alert: a.alert, series: await prometheus!.seriesCount(a.expr) }).toEqual({ alert: a.alert, series: 0 });
});

it("two servers down: the quorum-lost expression selects the ensemble", async () => {
  const quorum = alerts.find((a) => a.alert === "ZooKeeperQuorumLost")!;
  await ensemble!.members[0].kill();
  await ensemble!.members[1].kill();
  await eventually(
    () => prometheus!.seriesCount(quorum.expr),
    (n) => n > 0,
    "ZooKeeperQuorumLost expression",
  );
});
