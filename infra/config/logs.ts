import { z } from "zod";
import { imageRef, positiveInt } from "./primitives";

export const LOG_DESTINATIONS = ["kafka", "otlp"] as const;
/** The upstream contrib image at the release tools/toolchain/versions.env pins (OTELCOL_VERSION). */
export const DEFAULT_LOG_AGENT_IMAGE = "otel/opentelemetry-collector-contrib:0.165.1";

/** `host:port` of an OTLP/gRPC endpoint. */
const otlpEndpoint = z.string().regex(/^[A-Za-z0-9]([-.A-Za-z0-9]*[A-Za-z0-9])?:[0-9]{1,5}$/, {
  error: "must be host:port of an OTLP/gRPC endpoint, such as otel-gateway.observability:4317",
});

/** `classroom:logs`: the node log agent that ships `<logRoot>/*\/*.log` (components/logs/). */
export const logsConfig = z
  .strictObject({
    destination: z
      .enum(LOG_DESTINATIONS, { error: `must be one of ${LOG_DESTINATIONS.join(", ")}` })
      .default("kafka")
      .describe("Where the node log agent ships every log line: `kafka` (the platform's Kafka, topic `classroom.logs`) or `otlp` (logs.otlpEndpoint)."),
    otlpEndpoint: otlpEndpoint.optional().describe("`host:port` of the OTLP/gRPC endpoint; required when logs.destination is otlp, not read otherwise."),
    otlpInsecure: z
      .enum(["true", "false"], { error: "must be true or false" })
      .transform((v) => v === "true")
      .default(false)
      .describe("Send OTLP without TLS (an endpoint inside the cluster). Default false."),
    retentionDays: positiveInt
      .default(7)
      .describe(
        "Days a log file must stay unmodified on the node before the agent's cleanup may delete it (only once the agent has checkpointed after its last change).",
      ),
    agentImage: imageRef
      .default(DEFAULT_LOG_AGENT_IMAGE)
      .describe("Image of the log agent: the upstream OpenTelemetry Collector contrib image, pinned by version."),
  })
  .superRefine((c, ctx) => {
    if (c.destination === "otlp" && !c.otlpEndpoint) {
      ctx.addIssue({
        code: "custom",
        path: ["otlpEndpoint"],
        input: undefined,
        message: "is required when logs.destination is otlp (host:port of an OTLP/gRPC endpoint)",
      });
    }
  })
  .prefault({})
  .describe("The node log agent (an OpenTelemetry Collector DaemonSet) that ships every service's log files.");
