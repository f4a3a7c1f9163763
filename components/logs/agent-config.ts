import { stringify } from "yaml";

/** The Kafka topic every log line goes to when the destination is the platform's Kafka. */
export const LOGS_TOPIC = "classroom.logs";

/** Where the agent sends what it reads. */
export type LogDestination = { kind: "kafka"; brokers: string[]; topic: string } | { kind: "otlp"; endpoint: string; insecure: boolean };

export interface LogAgentConfigInput {
  /** The log root as the collector sees it (the DaemonSet mounts the node's log root at the same path). */
  logRoot: string;
  /** The `file_storage` directory: the read offsets of every file, kept on the node across agent restarts. */
  checkpointDir: string;
  destination: LogDestination;
  /** Port of the collector's own Prometheus metrics (`otelcol_*`), on all interfaces. */
  metricsPort: number;
  /** Address the metrics listen on. Default `0.0.0.0` (the pod's network namespace). */
  metricsHost?: string;
}

/**
 * The collector command-line flags the config needs. `stanza.synchronousLogEmitter` makes the filelog
 * receiver hand each batch to the pipeline and wait for its result before it advances (and checkpoints)
 * its read offsets; without it a line read but not yet exported is lost when the agent is killed.
 */
export const COLLECTOR_FLAGS = ["--feature-gates=stanza.synchronousLogEmitter"] as const;

/** Largest record the receiver reads; longer ones are truncated (max_log_size). */
export const MAX_RECORD_BYTES = 256 * 1024;
/** Largest export request, in protobuf bytes: with otlp_json well under Kafka's default 1 MB message limit. */
export const MAX_EXPORT_BYTES = 400_000;

/**
 * A file the platform writes: `<logRoot>/<service>/<pod name>_<pod uid>.log` (components/apps/log-volume.ts),
 * or a rotated copy of it (`….log.1`, `….log.2024-05-01`). Pod names have no `_`, so the first `_` splits.
 */
export const LOG_FILE_REGEX = String.raw`^.*/(?P<service>[^/]+)/(?P<pod>[^/_]+)_(?P<uid>[^/_]+)\.log(?:\.[^/]+)?$`;

/**
 * A record starts at a line that does not begin with whitespace; indented lines after it (stack frames
 * of Node, Java, Python and Go) belong to it. The platform's own loggers write one JSON object per line,
 * which never begins with whitespace, so each of their lines stays one record.
 */
export const RECORD_START = String.raw`^\S`;

const RESOURCE_ATTRIBUTES: Record<string, string> = { service: "service.name", pod: "k8s.pod.name", uid: "k8s.pod.uid" };

/**
 * The OpenTelemetry Collector configuration of the node log agent, as a plain object: the DaemonSet's
 * ConfigMap renders it, and the integration tests run the real collector with it (paths and ports
 * substituted), so what is tested is what is deployed.
 *
 * Loss and duplicates: the exporter's queue batches lines and `wait_for_result` holds the receiver until
 * Kafka (or the OTLP endpoint) acknowledged them; with the synchronous emitter (COLLECTOR_FLAGS) the read
 * offsets move, and are checkpointed, only after that. A killed agent resumes from its last checkpoint:
 * nothing is lost, and the lines acknowledged since that checkpoint are sent again: the receiver
 * checkpoints after every poll, so that is at most what one poll read from each file (all of a file's
 * backlog when the agent was behind). Retries never give up: while the destination is down the agent stops reading
 * and the lines wait in their files. The batch processor is left out of the pipeline on purpose: it
 * acknowledges lines before they are exported, which is exactly the loss window closed here.
 */
export function logAgentConfig(input: LogAgentConfigInput): Record<string, unknown> {
  const root = input.logRoot.replace(/\/$/, "");
  const exporterName = input.destination.kind === "kafka" ? "kafka" : "otlp";
  // The receiver waits for each result, so a batch that waited to fill could only fill from other files'
  // readers, and one file would crawl at one emitter batch (100 lines, fixed upstream) per flush timeout:
  // min_size 1 sends every request at once. max_size splits a request whose records are large, so no
  // Kafka message outgrows the broker's 1 MB limit (the size is the protobuf size; otlp_json is at most
  // about twice that).
  const queue = {
    enabled: true,
    wait_for_result: true,
    block_on_overflow: true,
    sizer: "bytes",
    queue_size: 64 * 1024 * 1024,
    num_consumers: 8,
    batch: { sizer: "bytes", min_size: 1, max_size: MAX_EXPORT_BYTES, flush_timeout: "200ms" },
  };
  const retry = { enabled: true, initial_interval: "1s", max_interval: "30s", max_elapsed_time: "0s" };
  const exporter =
    input.destination.kind === "kafka"
      ? {
          brokers: input.destination.brokers,
          logs: { topic: input.destination.topic, encoding: "otlp_json" },
          // One pod's lines share a key, so they land on one partition in the order they were written.
          partition_logs_by_resource_attributes: true,
          producer: { required_acks: -1, compression: "lz4", max_message_bytes: 1_000_000 },
          timeout: "30s",
          retry_on_failure: retry,
          sending_queue: queue,
        }
      : {
          endpoint: input.destination.endpoint,
          tls: { insecure: input.destination.insecure },
          compression: "gzip",
          timeout: "30s",
          retry_on_failure: retry,
          sending_queue: queue,
        };
  return {
    extensions: {
      "file_storage/checkpoints": {
        directory: input.checkpointDir,
        create_directory: false,
        // The offsets must survive a node crash as well as an agent restart.
        fsync: true,
        compaction: { on_start: true, on_rebound: true, directory: input.checkpointDir },
      },
    },
    receivers: {
      filelog: {
        // Rotated copies (`x.log.1`) stay included so a line written just before a rename is still read;
        // the receiver knows a renamed file by its fingerprint and never reads it twice.
        include: [`${root}/*/*.log`, `${root}/*/*.log.*`],
        exclude: [`${root}/*/*.gz`],
        start_at: "beginning",
        include_file_path: true,
        include_file_name: false,
        storage: "file_storage/checkpoints",
        poll_interval: "200ms",
        max_concurrent_files: 64,
        max_log_size: MAX_RECORD_BYTES,
        multiline: { line_start_pattern: RECORD_START },
        // The last record of a file is complete when nothing follows it for this long.
        force_flush_period: "500ms",
        // A truncated file (copytruncate rotation) is read again from its start.
        on_truncate: "read_whole_file",
        operators: [
          {
            type: "regex_parser",
            id: "file-name",
            parse_from: 'attributes["log.file.path"]',
            parse_to: "attributes",
            regex: LOG_FILE_REGEX,
            on_error: "send_quiet",
          },
          ...Object.entries(RESOURCE_ATTRIBUTES).map(([from, to]) => ({
            type: "move",
            id: `resource-${from}`,
            if: `attributes.${from} != nil`,
            from: `attributes.${from}`,
            to: `resource["${to}"]`,
          })),
        ],
      },
    },
    exporters: { [exporterName]: exporter },
    service: {
      extensions: ["file_storage/checkpoints"],
      pipelines: { logs: { receivers: ["filelog"], exporters: [exporterName] } },
      telemetry: {
        logs: { level: "info", encoding: "json" },
        metrics: { level: "normal", readers: [{ pull: { exporter: { prometheus: { host: input.metricsHost ?? "0.0.0.0", port: input.metricsPort } } } }] },
      },
    },
  };
}

/** The config as the ConfigMap's `config.yaml` (and the tests' config file). */
export function renderLogAgentConfig(input: LogAgentConfigInput): string {
  return stringify(logAgentConfig(input), { lineWidth: 0 });
}
