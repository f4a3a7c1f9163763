import { z } from "zod";
import { ConfigError, parsePlatformConfig } from "../../infra/config";
import { logsConfig } from "../../infra/config/logs";

const base = { "classroom:environment": "dev" };
const parse = (logs: unknown) => parsePlatformConfig({ ...base, "classroom:logs": JSON.stringify(logs) });
const problems = (logs: unknown): string[] => {
  try {
    parse(logs);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
};

describe("classroom:logs", () => {
  it("defaults to the platform's Kafka, 7 days of node retention and the pinned contrib image", () => {
    expect(parsePlatformConfig(base).logs).toEqual({
      destination: "kafka",
      otlpInsecure: false,
      retentionDays: 7,
      agentImage: "otel/opentelemetry-collector-contrib:0.165.1",
    });
  });

  it("accepts an OTLP destination with its endpoint", () => {
    expect(parse({ destination: "otlp", otlpEndpoint: "gw.observability:4317", otlpInsecure: "true" })).toMatchObject({
      logs: { destination: "otlp", otlpEndpoint: "gw.observability:4317", otlpInsecure: true },
    });
  });

  it.each([
    [{ destination: "loki" }, 'classroom:logs.destination must be one of kafka, otlp, got "loki"'],
    [{ destination: "otlp" }, "classroom:logs.otlpEndpoint is required when logs.destination is otlp"],
    [{ destination: "otlp", otlpEndpoint: "http://gw:4317" }, "classroom:logs.otlpEndpoint must be host:port of an OTLP/gRPC endpoint"],
    [{ retentionDays: 0 }, "classroom:logs.retentionDays must be a whole number >= 1"],
    [{ retension: 3 }, "classroom:logs"],
  ])("rejects %j naming the key and the allowed values", (logs, message) => {
    const p = problems(logs);
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(message);
  });

  it("describes every key for the generated config table", () => {
    const schema = z.toJSONSchema(logsConfig, { io: "input", unrepresentable: "any" }) as {
      description?: string;
      properties: Record<string, { description?: string }>;
    };
    expect(schema.description).toMatch(/log agent/);
    expect(Object.keys(schema.properties).sort()).toEqual(["agentImage", "destination", "otlpEndpoint", "otlpInsecure", "retentionDays"]);
    expect(Object.values(schema.properties).every((p) => (p.description ?? "").length > 20)).toBe(true);
  });
});
