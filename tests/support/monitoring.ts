import { RulesInput } from "../../components/monitoring/rules";

/** The rules' input of a production-shaped stack (ensembles of 3, Sentinel, a MySQL replica), for tests that evaluate them. */
export const RULES_INPUT: RulesInput = {
  namespaces: { data: "classroom-data", apps: "classroom-apps" },
  zookeeper: { replicas: 3 },
  redis: { sentinel: true, sentinelQuorum: 2 },
  mysql: { replicas: 2 },
  backlogGrowingMinutes: 10,
  mysqlReplicaLagSeconds: 30,
};

/** Polls `probe` every half second until `ok` holds; the error names `what` and the last value. */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${timeoutMs} ms (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
