import { Command, InvalidArgumentError } from "commander";
import { EXIT, oneLineCommanderErrors, projectVersion, runCli } from "../cli/run";
import { ToolMissingError, buildTools, controlPlaneBinaries } from "../toolchain/toolchain";
import { ControlPlaneError, inspect, liveProcesses, startControlPlane, stopControlPlane } from "./control-plane";
import { clearPointer, readPointer, writePointer } from "./state";
import * as fs from "node:fs";

// `npm run cluster -- up | down | status`: a local Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager) on loopback, for looking at the platform in a real API server. Exit codes
// follow tools/cli/run.ts; `status` exits 1 when no control plane runs or only part of it does.

const program = new Command("cluster")
  .description("A local Kubernetes control plane (no kubelet): etcd, kube-apiserver, kube-controller-manager on 127.0.0.1")
  .option("--debug", "print stack traces of errors")
  .version(projectVersion(), "--version", "print the version")
  .configureOutput(oneLineCommanderErrors)
  .exitOverride();

program
  .command("up")
  .description("start the control plane (or report the running one); prints KUBECONFIG=<path> last")
  .option("--port <port>", "kube-apiserver port on 127.0.0.1 (default: a free port)", parsePort)
  .option("--no-build", "fail instead of building missing tools from the Go module proxy")
  .action(async (opts: { port?: number; build: boolean }) => {
    const running = current();
    if (running?.healthy && running.state) {
      console.log(`control plane already running: ${running.state.server} (state in ${running.state.dir})`);
      console.log(`KUBECONFIG=${running.state.kubeconfigPath}`);
      return;
    }
    if (running?.state) {
      console.error(`a previous control plane in ${running.state.dir} is only partly running; cleaning it up`);
      await stopControlPlane(running.state);
    }
    clearPointer();
    const binaries = resolveBinaries(opts.build);
    console.error("starting etcd, kube-apiserver and kube-controller-manager ...");
    const state = await startControlPlane({ apiserverPort: opts.port, binaries });
    writePointer(state.dir);
    console.log(`control plane ready in ${state.startSeconds.toFixed(1)} s: ${state.server}`);
    for (const p of state.processes) console.log(`  ${p.name.padEnd(24)} pid ${p.pid}  log ${p.logFile}`);
    console.log(`Gateway API standard CRDs installed; kubectl ${binaries.kubectl}; stop with: npm run cluster -- down`);
    console.log(`KUBECONFIG=${state.kubeconfigPath}`);
  });

program
  .command("down")
  .description("stop exactly the processes `up` started and remove their state")
  .action(async () => {
    const dir = readPointer();
    const running = current();
    if (!running?.state) {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      clearPointer();
      console.log("no control plane is running");
      return;
    }
    await stopControlPlane(running.state);
    clearPointer();
    console.log(`stopped ${running.state.processes.map((p) => `${p.name} (pid ${p.pid})`).join(", ")}; removed ${running.state.dir}`);
  });

program
  .command("status")
  .description("say what runs where (exit 0 running, 1 not running or only partly running)")
  .action(() => {
    const running = current();
    if (!running?.state) {
      console.log("no control plane is running (start one with: npm run cluster -- up)");
      process.exitCode = EXIT.findings;
      return;
    }
    const { state } = running;
    const live = new Set(liveProcesses(state).map((p) => p.pid));
    console.log(`control plane ${running.healthy ? "running" : "PARTLY RUNNING (run `npm run cluster -- down`, then up)"}: ${state.server}`);
    console.log(`  started ${state.startedAt} (ready in ${state.startSeconds.toFixed(1)} s), state in ${state.dir}`);
    for (const p of state.processes) {
      const where = p.name === "etcd" ? `127.0.0.1:${state.etcdClientPort}` : p.name === "kube-apiserver" ? `127.0.0.1:${state.apiserverPort}` : "-";
      const shown = live.has(p.pid) ? `running  ${residentMegabytes(p.pid)} MB` : "STOPPED";
      console.log(`  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${where.padEnd(16)} ${shown}`);
    }
    console.log(`KUBECONFIG=${state.kubeconfigPath}`);
    process.exitCode = running.healthy ? EXIT.ok : EXIT.findings;
  });

function current(): ReturnType<typeof inspect> | undefined {
  const dir = readPointer();
  return dir ? inspect(dir) : undefined;
}

/** Resident memory of a process from /proc, in MB. */
function residentMegabytes(pid: number): string {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? String(Math.round(Number(kb) / 1024)) : "?";
  } catch {
    return "?";
  }
}

function resolveBinaries(build: boolean) {
  try {
    return controlPlaneBinaries();
  } catch (err) {
    if (!(err instanceof ToolMissingError) || !build) throw err;
    console.error(`${err.tool} is not built yet; building the control-plane tools (about 6-10 minutes cold) ...`);
    buildTools(["etcd", "kubernetes", "gateway-api", "prometheus-operator"]);
    return controlPlaneBinaries();
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InvalidArgumentError("must be an integer from 1 to 65535");
  return port;
}

// Subcommands configure themselves after the root's exitOverride; each needs its own.
for (const sub of program.commands) sub.exitOverride();

// A port in use, a process that would not start or a missing tool is the machine's state, which the
// user can change: one line, exit 2. Anything else is a bug.
runCli(
  "cluster",
  async () => {
    process.exitCode = undefined;
    await program.parseAsync(process.argv);
    return Number(process.exitCode ?? EXIT.ok);
  },
  (err) => (err instanceof ControlPlaneError || err instanceof ToolMissingError ? "usage" : undefined),
);
