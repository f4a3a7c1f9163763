/**
 * The baseline side of `bench:registrar:apiserver`, in its own process so that the driver's work does not
 * delay it: a plain watch on the namespace's EndpointSlices (what any API client sees). For each endpoint
 * of each update it prints `w <wall ms> <pod> <1|0>` (ready or not); the driver times its applies against them.
 * Env: KUBECONFIG, BENCH_NAMESPACE.
 */
import { performance } from "node:perf_hooks";
import { KubeConfig, Watch } from "@kubernetes/client-node";

const kc = new KubeConfig();
kc.loadFromDefault();
let out: string[] = [];
void new Watch(kc).watch(
  `/apis/discovery.k8s.io/v1/namespaces/${process.env.BENCH_NAMESPACE}/endpointslices`,
  {},
  (phase: string, obj: { endpoints?: Array<{ targetRef?: { name?: string }; conditions?: { ready?: boolean } }> }) => {
    if (phase !== "MODIFIED") return;
    const at = (performance.timeOrigin + performance.now()).toFixed(2);
    for (const e of obj.endpoints ?? []) out.push(`w ${at} ${e.targetRef?.name} ${(e.conditions?.ready ?? true) ? 1 : 0}`);
  },
  (err: unknown) => {
    if (err) console.error(err);
    process.exit(err ? 1 : 0);
  },
);
// Reports leave in batches (one write per 5 ms at most), as the observer's do.
setInterval(() => {
  if (out.length === 0) return;
  process.stdout.write(`${out.join("\n")}\n`);
  out = [];
}, 5);
process.stdin.on("end", () => process.exit(0)).resume();
