import { z } from "zod";
import { dnsLabel, port } from "./primitives";

/** Names of the platform's own daemons (infra/daemons.ts): each has Services under its name in the apps namespace. */
export const RESERVED_EXTERNAL_NAMES = ["scheduler", "mq-replayer", "registrar"] as const;

export const EXTERNAL_PROTOCOLS = ["TCP", "UDP"] as const;

const ipv4 = z.string().regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/, {
  error: "must be an IPv4 address such as 10.30.0.5 (no port: ports are listed in ports)",
});
const cidr = z.string().regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(3[0-2]|[12]?\d)$/, {
  error: "must be an IPv4 CIDR such as 203.0.113.0/24",
});
/** A DNS name (RFC 1123), the form an ExternalName Service accepts. */
const dnsName = z
  .string()
  .max(253, { error: "must be a DNS name of at most 253 characters" })
  .regex(/^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: "must be a DNS name such as courses.internal.example.com (an IP address goes in addresses)",
  });

/**
 * A system outside the cluster that services call (course, material, OA and user systems). It becomes a
 * Service in the apps namespace under its own name, so callers reach it as `<name>` like any service:
 * an ExternalName Service for a DNS name, a selector-less Service with an EndpointSlice for IP addresses.
 */
export const externalConfig = z
  .strictObject({
    host: dnsName.optional().describe("DNS name of the external system; rendered as an ExternalName Service. Exactly one of host and addresses."),
    addresses: z
      .array(ipv4)
      .min(1, { error: "must list at least one IPv4 address" })
      .optional()
      .describe(
        "IPv4 addresses of the external system; rendered as a selector-less Service plus an EndpointSlice, and opened to callers as /32 ipBlocks. Exactly one of host and addresses.",
      ),
    ports: z
      .array(port)
      .min(1, { error: "must list at least one port" })
      .refine((ps) => new Set(ps).size === ps.length, { error: "must not list a port twice" })
      .describe("Ports the callers connect to; each becomes a Service port and a NetworkPolicy egress port."),
    protocol: z
      .enum(EXTERNAL_PROTOCOLS, { error: `must be one of ${EXTERNAL_PROTOCOLS.join(", ")}` })
      .default("TCP")
      .describe("Transport protocol of every port: TCP (default) or UDP."),
    egressCidrs: z
      .array(cidr)
      .min(1, { error: "must list at least one CIDR" })
      .optional()
      .describe(
        "host only: address ranges the DNS name resolves into. NetworkPolicies cannot name a DNS name, so callers' egress opens the ports to these ranges; without them, to any address.",
      ),
  })
  .superRefine((e, ctx) => {
    if (!e.host === !e.addresses) {
      ctx.addIssue({ code: "custom", path: [], input: undefined, message: "must set exactly one of host (a DNS name) or addresses (IPv4 addresses)" });
    }
    if (e.addresses && e.egressCidrs) {
      ctx.addIssue({
        code: "custom",
        path: ["egressCidrs"],
        input: e.egressCidrs,
        message: "is only for host externals (addresses are opened as /32 ipBlocks already)",
      });
    }
  });

export const externalsConfig = z
  .record(dnsLabel, externalConfig)
  .default({})
  .describe("External systems by name (outside the cluster), each a Service in the apps namespace that services list in calls.");

export type ExternalConfig = z.output<typeof externalConfig>;
