import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { COLLECTOR_FLAGS, LogAgentConfigInput, renderLogAgentConfig } from "../../components/logs/agent-config";
import { otelcolBinary } from "../../tools/toolchain/toolchain";
import { ConsumedMessage } from "./kafka";
import { freePort, waitForPort } from "./ports";
import { ManagedProcess } from "./process";

/**
 * The built `otelcol` (tools/toolchain/otelcol), or a skip reason. In CI the binary must exist: provisioning
 * builds it, so its absence there is a failure, not a skip.
 */
export function collectorOrSkip(): { binary: string } | { skip: string } {
  const binary = otelcolBinary();
  if (binary) return { binary };
  const message = "otelcol is not built: run 'bash tools/toolchain/build.sh otelcol' (a cold build takes 15-25 minutes on 2 cores)";
  if (process.env.CI) throw new Error(`${message}; CI provisions it (tools/provision/40-toolchain.sh), so this is a provisioning failure`);
  return { skip: message };
}

/**
 * The real collector running the config the platform renders (components/logs/agent-config.ts), with a
 * temporary log root, checkpoint directory and metrics port. kill() and start() again keep the checkpoint.
 */
export class Collector {
  private proc: ManagedProcess | undefined;
  readonly configFile: string;

  private constructor(
    readonly binary: string,
    readonly dir: string,
    readonly input: LogAgentConfigInput,
  ) {
    this.configFile = path.join(dir, "config.yaml");
    fs.writeFileSync(this.configFile, renderLogAgentConfig(input));
  }

  /** A collector for `destination`, reading `logRoot`; its checkpoint lives in a fresh temp directory. */
  static async create(binary: string, logRoot: string, destination: LogAgentConfigInput["destination"]): Promise<Collector> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "otelcol-"));
    const checkpointDir = path.join(dir, "checkpoints");
    fs.mkdirSync(checkpointDir);
    return new Collector(binary, dir, { logRoot, checkpointDir, destination, metricsPort: await freePort(), metricsHost: "127.0.0.1" });
  }

  get log(): string {
    return this.proc?.log ?? "";
  }
  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts the collector; resolves once its metrics endpoint answers (the pipeline is built by then). */
  async start(): Promise<void> {
    this.proc = ManagedProcess.start("otelcol", this.binary, [`--config=file:${this.configFile}`, ...COLLECTOR_FLAGS]);
    try {
      await waitForPort(this.input.metricsPort, 60_000);
    } catch (err) {
      throw new Error(`otelcol did not start: ${(err as Error).message}\n${this.proc.log}`, { cause: err });
    }
  }

  /** SIGKILL: a crashed agent (no shutdown, no final checkpoint). */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }
  async stop(): Promise<void> {
    await this.proc?.stop(15_000);
  }
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One log record as it arrives in Kafka (otlp_json), with the resource attributes the agent set. */
export interface ShippedRecord {
  body: string;
  service?: string;
  pod?: string;
  uid?: string;
  file?: string;
}

type AnyValue = { stringValue?: string };
type KeyValue = { key: string; value: AnyValue };
interface OtlpLogs {
  resourceLogs?: { resource?: { attributes?: KeyValue[] }; scopeLogs?: { logRecords?: { body?: AnyValue; attributes?: KeyValue[] }[] }[] }[];
}

/** The records of one Kafka message written by the kafka exporter with `encoding: otlp_json`. */
export function decodeOtlpJson(message: ConsumedMessage): ShippedRecord[] {
  const doc = JSON.parse(message.value.toString("utf8")) as OtlpLogs;
  const attr = (list: KeyValue[] | undefined, key: string) => list?.find((a) => a.key === key)?.value.stringValue;
  const out: ShippedRecord[] = [];
  for (const rl of doc.resourceLogs ?? []) {
    const r = rl.resource?.attributes;
    for (const sl of rl.scopeLogs ?? []) {
      for (const rec of sl.logRecords ?? []) {
        out.push({
          body: rec.body?.stringValue ?? "",
          service: attr(r, "service.name"),
          pod: attr(r, "k8s.pod.name"),
          uid: attr(r, "k8s.pod.uid"),
          file: attr(rec.attributes, "log.file.path"),
        });
      }
    }
  }
  return out;
}
