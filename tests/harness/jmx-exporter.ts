import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");

/** The agent's version and sha256 as the Kafka pods' agent image pins them (its Dockerfile's ADD line). */
export function jmxAgentPin(): { version: string; sha256: string } {
  const dockerfile = fs.readFileSync(path.join(repoRoot, "images/kafka-jmx-agent/Dockerfile"), "utf8");
  const version = /\/jmx_prometheus_javaagent\/([0-9][0-9.]*)\//.exec(dockerfile)?.[1];
  const sha256 = /--checksum=sha256:([0-9a-f]{64})/.exec(dockerfile)?.[1];
  if (!version || !sha256) throw new Error("images/kafka-jmx-agent/Dockerfile: no agent version or sha256 in its ADD line");
  return { version, sha256 };
}

/** The agent jar tools/provision/31-jmx-exporter.sh fetched (same cache path), checksum verified there. */
export function jmxAgentJar(): string {
  const cache = process.env.CLASSROOM_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "classroom-platform");
  const jar = path.join(cache, "jmx-exporter", jmxAgentPin().version, "jmx_prometheus_javaagent.jar");
  if (!fs.existsSync(jar)) throw new Error(`${jar} is missing: run tools/provision/31-jmx-exporter.sh (README: provisioning)`);
  return jar;
}
