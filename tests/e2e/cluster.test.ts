import * as k8s from "@pulumi/kubernetes";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { KubeClient } from "../../tools/cluster/kube-client";
import { readKubeconfig } from "../../tools/cluster/kubeconfig";
import { isAlive, startTicksOf } from "../../tools/cluster/processes";
import { ControlPlaneState } from "../../tools/cluster/state";
import { validateOnServer } from "../../tools/cluster/server-validate";
import { engineEnv } from "../../tools/engine/engine-env";
import { TestCluster, startTestCluster } from "../harness/cluster";

// The local control plane (etcd, kube-apiserver, kube-controller-manager built from the Go module proxy)
// and strict server-side validation against it. Needs `bash tools/provision/40-toolchain.sh` first:
// without the tools these tests fail with that instruction rather than skip.

// Starting a control plane takes 5-10 s idle; allow for a machine loaded by builds and other suites.
jest.setTimeout(240_000);

const NS = "validate-e2e";

function deployment(name: string, container: Record<string, unknown>): Record<string, any> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "registry.example/app:1.0.0", ...container }] } },
    },
  };
}

function httpRoute(name: string, weight: number): Record<string, any> {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: NS },
    spec: { parentRefs: [{ name: "public" }], rules: [{ backendRefs: [{ name: "web", port: 80, weight }] }] },
  };
}

function service(name: string, port: number): Record<string, any> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port, targetPort: 8080 }] },
  };
}

function networkPolicy(name: string, port: number): Record<string, any> {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: NS },
    spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ ports: [{ protocol: "TCP", port }] }] },
  };
}

const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } };

describe("local control plane", () => {
  it("starts and stops cleanly twice in a row, leaving no process and no state behind", async () => {
    for (let round = 1; round <= 2; round++) {
      const cluster = await startTestCluster();
      try {
        const client = new KubeClient(readKubeconfig(cluster.kubeconfigPath));
        try {
          expect((await client.request("GET", "/readyz")).status).toBe(200);
          const version = await client.request("GET", "/version");
          expect(version.body.gitVersion).toBe("v1.34.4");
          // Gateway API CRDs are served, and the controller manager made the default ServiceAccount.
          expect((await client.request("GET", "/apis/gateway.networking.k8s.io/v1")).status).toBe(200);
          expect((await client.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status).toBe(200);
        } finally {
          client.close();
        }
        expect(cluster.state.processes.map((p) => p.name)).toEqual(["etcd", "kube-apiserver", "kube-controller-manager"]);
        expect(cluster.state.processes.every(isAlive)).toBe(true);
      } finally {
        await cluster.stop();
      }
      expect(cluster.state.processes.filter(isAlive)).toEqual([]);
      // The watchdog that would have killed them had this test process died is gone too.
      expect(cluster.state.reaper).toBeDefined();
      expect(startTicksOf(cluster.state.reaper!)).toBeUndefined();
      expect(fs.existsSync(cluster.state.dir)).toBe(false);
    }
  });
});

describe("npm run cluster", () => {
  // A runtime dir of its own, so this test neither sees nor stops a control plane the developer started.
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-cli-"));
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.resolve("node_modules/tsx/dist/cli.mjs"), "tools/cluster/cli.ts", ...args], {
      encoding: "utf8",
      env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir },
      timeout: 180_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: r.stdout.trimEnd().split("\n").pop() ?? "" };
  };

  afterAll(() => {
    cli("down");
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });

  it("up prints KUBECONFIG last and is idempotent; status reports it; down stops exactly its processes", () => {
    const up = cli("up");
    expect(up.status).toBe(0);
    expect(up.last).toMatch(/^KUBECONFIG=\//);
    const kubeconfig = up.last.slice("KUBECONFIG=".length);
    const state: ControlPlaneState = JSON.parse(fs.readFileSync(path.join(path.dirname(kubeconfig), "state.json"), "utf8"));

    const again = cli("up");
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/already running/);
    expect(again.last).toBe(up.last);

    const status = cli("status");
    expect(status.status).toBe(0);
    for (const p of state.processes) expect(status.stdout).toMatch(new RegExp(`${p.name} +pid ${p.pid} .*running`));

    const down = cli("down");
    expect(down.status).toBe(0);
    expect(state.processes.filter(isAlive)).toEqual([]);
    expect(fs.existsSync(state.dir)).toBe(false);
    expect(cli("status").status).toBe(1); // tools/cli/run.ts: 3 is only for internal errors
  });

  it("refuses a port that is taken with a one-line reason, no stack trace and nothing left running", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const up = cli("up", "--port", String(port));
      expect(up.status).toBe(2);
      expect(up.stderr).toMatch(new RegExp(`cluster: port ${port} on 127\\.0\\.0\\.1 is already in use`));
      expect(up.stderr).not.toMatch(/\n\s+at /);
      expect(cli("status").status).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe("against a running control plane", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  describe("validateOnServer", () => {
    it("accepts well-formed objects, creating their namespace for real and storing nothing else", async () => {
      const good = [namespace, deployment("web", { ports: [{ containerPort: 8080 }] }), service("web", 80), networkPolicy("web", 8080), httpRoute("web", 100)];
      expect(await validateOnServer(good, cluster.kubeconfigPath)).toEqual([]);

      const client = new KubeClient(readKubeconfig(cluster.kubeconfigPath));
      try {
        expect((await client.request("GET", `/api/v1/namespaces/${NS}`)).status).toBe(200);
        expect((await client.request("GET", `/apis/apps/v1/namespaces/${NS}/deployments/web`)).status).toBe(404);
      } finally {
        client.close();
      }
    });

    it("reports, by kind and name with the server's message, objects that only the server rejects", async () => {
      const objects = [
        namespace,
        deployment("typo", { imagePullPolicyy: "Always" }), // unknown field in a container
        httpRoute("too-heavy", 2_000_000), // weight above the CRD's maximum of 1000000
        service("bad-port", 70_000),
        networkPolicy("bad-port", 70_000),
        deployment("fine", {}),
      ];
      const rejections = await validateOnServer(objects, cluster.kubeconfigPath);

      expect(rejections.map((r) => `${r.kind}/${r.namespace}/${r.name}`)).toEqual([
        `Deployment/${NS}/typo`,
        `HTTPRoute/${NS}/too-heavy`,
        `NetworkPolicy/${NS}/bad-port`,
        `Service/${NS}/bad-port`,
      ]);
      const message = (kind: string) => rejections.find((r) => r.kind === kind)!.message;
      expect(message("Deployment")).toMatch(/imagePullPolicyy/);
      expect(message("HTTPRoute")).toMatch(/weight/);
      expect(message("HTTPRoute")).toMatch(/1000000/);
      expect(message("Service")).toMatch(/70000/);
      expect(message("NetworkPolicy")).toMatch(/70000/);
    });

    it("reports a kind the server does not serve instead of skipping it", async () => {
      const unknown = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: NS } };
      const rejections = await validateOnServer([namespace, unknown], cluster.kubeconfigPath);
      expect(rejections).toEqual([{ kind: "Widget", namespace: NS, name: "w", message: expect.stringMatching(/example\.com\/v1/) }]);
    });

    it("fails loudly when the server cannot be reached", async () => {
      const kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8").replace(cluster.server, "https://127.0.0.1:1");
      const broken = `${cluster.state.dir}/unreachable.kubeconfig`;
      fs.writeFileSync(broken, kubeconfig);
      await expect(validateOnServer([namespace], broken)).rejects.toThrow(/cannot reach the API server at https:\/\/127\.0\.0\.1:1/);
    });
  });

  describe("engine env", () => {
    it("previews, updates and destroys offline with the project's provider plugin, without a version warning", async () => {
      const engine = engineEnv();
      // The plugin is installed under the version npm @pulumi/kubernetes asks for, plus build metadata naming its real snapshot.
      const sdkVersion: string = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve("@pulumi/kubernetes")), "package.json"), "utf8")).version;
      expect(engine.providerPluginVersion.startsWith(`${sdkVersion}+snapshot.`)).toBe(true);
      const kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
      const backend = fs.mkdtempSync(path.join(cluster.state.dir, "backend-"));
      const program = async () => {
        const provider = new k8s.Provider("local", { kubeconfig });
        const map = new k8s.core.v1.ConfigMap("engine-check", { metadata: { name: "engine-check", namespace: "default" }, data: { a: "b" } }, { provider });
        return { name: map.metadata.name };
      };
      const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(engine.pulumi)) });
      // An explicit workDir inside the cluster's folder: without one the SDK leaves an automation-* folder in /tmp.
      const workDir = fs.mkdtempSync(path.join(cluster.state.dir, "project-"));
      const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: "engine-check", projectName: "engine-check", program },
        {
          workDir,
          envVars: { ...engine.env, PULUMI_BACKEND_URL: `file://${backend}` },
          pulumiHome: engine.env.PULUMI_HOME,
          pulumiCommand,
        },
      );
      const output: string[] = [];
      const onOutput = (line: string) => output.push(line);
      const client = new KubeClient(readKubeconfig(cluster.kubeconfigPath));
      try {
        expect((await stack.preview({ onOutput })).changeSummary).toEqual({ create: 3 });
        await stack.up({ onOutput });
        expect((await client.request("GET", "/api/v1/namespaces/default/configmaps/engine-check")).body.data).toEqual({ a: "b" });
        expect((await stack.preview({ onOutput })).changeSummary).toEqual({ same: 3 });
        await stack.destroy({ onOutput });
        expect((await client.request("GET", "/api/v1/namespaces/default/configmaps/engine-check")).status).toBe(404);
      } finally {
        client.close();
        await stack.workspace.removeStack("engine-check", { force: true }).catch(() => undefined);
      }
      expect(
        output
          .join("")
          .split("\n")
          .filter((line) => /warning/i.test(line)),
      ).toEqual([]);
    });
  });
});
