import { ControlPlaneError, StartOptions, startControlPlane, stopControlPlane } from "../../tools/cluster/control-plane";
import { ControlPlaneState } from "../../tools/cluster/state";
import { ToolMissingError } from "../../tools/toolchain/toolchain";

/**
 * A real local control plane (etcd, kube-apiserver, kube-controller-manager, Gateway API CRDs) for one
 * test file, independent of any `npm run cluster -- up` the developer has running. Its processes are
 * killed when the test process exits, even if the test forgot to stop it.
 *
 * When the tools are not built this throws, so the tests FAIL with the command that builds them:
 * CI provisions them first (tools/provision/40-toolchain.sh), and a skipped e2e test would hide that.
 */
export async function startTestCluster(options: Omit<StartOptions, "stopOnExit"> = {}): Promise<TestCluster> {
  try {
    return new TestCluster(await startControlPlane({ ...options, stopOnExit: true }));
  } catch (err) {
    if (err instanceof ToolMissingError) {
      throw new Error(`the e2e tests need the Go-built tools. ${err.message}`, { cause: err });
    }
    if (err instanceof ControlPlaneError) throw new Error(`the local control plane did not start: ${err.message}`, { cause: err });
    throw err;
  }
}

export class TestCluster {
  constructor(readonly state: ControlPlaneState) {}

  get kubeconfigPath(): string {
    return this.state.kubeconfigPath;
  }
  get server(): string {
    return this.state.server;
  }
  get token(): string {
    return this.state.token;
  }
  get pids(): number[] {
    return this.state.processes.map((p) => p.pid);
  }

  /** Stops every process of this control plane and removes its folder. Safe to call twice. */
  async stop(): Promise<void> {
    await stopControlPlane(this.state);
  }
}
