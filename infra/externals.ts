import * as pulumi from "@pulumi/pulumi";
import { ExternalPeer, externalCidrs } from "../components/apps/egress";
import { ExternalSystem } from "../components/traffic/external-system";
import { PlatformConfig } from "./config";

/** Every external system of the stack (`classroom:externals`) as a Service of the apps namespace. */
export function declareExternals(config: PlatformConfig, opts: pulumi.ComponentResourceOptions): ExternalSystem[] {
  return Object.entries(config.externals).map(
    ([name, e]) =>
      new ExternalSystem(name, { namespace: config.namespaces.apps, host: e.host, addresses: e.addresses, ports: e.ports, protocol: e.protocol }, opts),
  );
}

/** The externals a service lists in `calls`, as its egress needs them. */
export function externalPeers(config: PlatformConfig, calls: readonly string[]): ExternalPeer[] {
  return calls
    .filter((c) => c in config.externals)
    .map((name) => {
      const e = config.externals[name];
      return { name, ports: e.ports, protocol: e.protocol, cidrs: externalCidrs(e) };
    });
}
