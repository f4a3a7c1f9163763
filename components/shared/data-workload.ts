import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dataStatefulSet, DataWorkloadArgs } from "./data-statefulset";
import { disruptionBudget } from "./disruption-budget";
import { selectorLabels, workloadLabels } from "./labels";
import { workloadNetworkPolicy } from "./network-policy";
import { headlessService, peerServices } from "./services";
import { scrapeIngress } from "../monitoring/scrape";

/**
 * Declares a data workload: headless (and client) Service, StatefulSet, PodDisruptionBudget and
 * NetworkPolicy, as children of `opts.parent` under the names the systems have always used.
 */
export function dataWorkload(args: DataWorkloadArgs, opts: pulumi.CustomResourceOptions): { headlessName: string } {
  const labels = workloadLabels(args.identity);
  const selector = selectorLabels(args.identity);
  const service = { namespace: args.namespace, name: args.name, labels, selector, clientPorts: args.clientPorts, peerPorts: args.peerPorts };
  const { headless, headlessName } = args.clientService === false ? headlessService(service, opts) : peerServices(service, opts);
  new k8s.apps.v1.StatefulSet(args.name, dataStatefulSet(args, headlessName), { ...opts, dependsOn: [headless] });
  disruptionBudget(
    { namespace: args.namespace, name: args.name, labels, selector, replicas: args.placement.replicas, maxUnavailable: args.placement.maxUnavailable },
    opts,
  );
  workloadNetworkPolicy(
    {
      namespace: args.namespace,
      name: args.name,
      labels,
      podSelector: selector,
      ingress: [...args.ingress, ...(args.metrics ? scrapeIngress(args.metrics.scrape, args.metrics.port) : [])],
      egress: args.egress,
    },
    opts,
  );
  return { headlessName };
}
