// Gray release: a canary never stands alone, weights are percentages, and every weighted backend of an
// HTTPRoute is a Service of the stack that can actually serve the share it is given.
import { resourceRule, stackRule, StackObject } from "./define";
import { asArray, asNumber, asObject, asString, at, isUnknown, stringMap } from "./k8s";
import { mapMatches } from "./selectors";
import { containers, hasPodTemplate, podLabelSets, replicas } from "./workloads";

const TRACK = "classroom.io/track";
const NAME = "app.kubernetes.io/name";
const NGINX_CANARY = "nginx.ingress.kubernetes.io/canary";
const NGINX_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight";
const WEIGHT_KEYS = ["classroom.io/weight", "classroom.io/canary-weight"];

function isRoute(o: { apiVersion: string; kind: string }): boolean {
  return o.kind === "HTTPRoute" && o.apiVersion.startsWith("gateway.networking.k8s.io/");
}

interface TrackConfig {
  tracks: string[];
}

export const canaryBesideStable = stackRule<TrackConfig>({
  name: "canary-beside-stable",
  description:
    "Objects of the canary track (classroom.io/track=canary) exist only beside a stable-track workload of the same app.kubernetes.io/name; a canary Ingress only beside its primary Ingress.",
  enforcementLevel: "mandatory",
  config: {
    tracks: {
      type: "array",
      items: { type: "string" },
      default: ["stable", "canary", "legacy"],
      description: "Values label classroom.io/track may take (default stable, canary, legacy).",
    },
  },
  check(objects, config, report) {
    for (const o of objects) {
      const track = o.labels[TRACK];
      if (track !== undefined && !config.tracks.includes(track)) report(o, `has ${TRACK}=${track}; allowed: ${config.tracks.join(", ")}`);
    }
    const stable = objects.filter((o) => hasPodTemplate(o) && o.labels[TRACK] === "stable");
    for (const o of objects.filter((x) => x.labels[TRACK] === "canary")) {
      const app = o.labels[NAME];
      if (!app) {
        report(o, `is on the canary track but has no ${NAME} label to find its stable track by`);
      } else if (!stable.some((s) => s.namespace === o.namespace && s.labels[NAME] === app)) {
        report(o, `is on the canary track, but no stable-track workload of ${NAME}=${app} exists in namespace ${o.namespace}`);
      }
    }
    const ingresses = objects.filter((o) => o.kind === "Ingress");
    for (const ing of ingresses.filter((i) => i.annotations[NGINX_CANARY] === "true")) {
      const hosts = asArray(at(ing.raw, "spec", "rules")).map((r) => asString(at(r, "host")) ?? "");
      const primary = ingresses.some(
        (p) =>
          p !== ing &&
          p.namespace === ing.namespace &&
          p.annotations[NGINX_CANARY] !== "true" &&
          asArray(at(p.raw, "spec", "rules")).some((r) => hosts.includes(asString(at(r, "host")) ?? "")),
      );
      if (!primary) report(ing, `is a canary Ingress with no primary Ingress for host(s) ${hosts.join(", ") || "(any)"} in namespace ${ing.namespace}`);
    }
  },
});

interface WeightConfig {
  maxWeight: number;
  weightEnvVars: string[];
}

/** A weight as an integer, or why it is not one. */
function checkWeight(raw: unknown, max: number): string | undefined {
  if (isUnknown(raw) || raw === undefined || raw === null) return undefined;
  const n = asNumber(raw);
  if (n === undefined || !Number.isInteger(n)) return `${JSON.stringify(raw)} is not an integer`;
  if (n < 0 || n > max) return `${n} is outside 0-${max}`;
  return undefined;
}

export const canaryWeightRange = resourceRule<WeightConfig>({
  name: "canary-weight-range",
  description:
    "Traffic weights are integer percentages within 0-100: HTTPRoute backendRef weights, NGINX canary-weight annotations, RPC registry weights (CLASSROOM_TRACK_WEIGHT) and classroom.io weight labels/annotations.",
  enforcementLevel: "mandatory",
  config: {
    maxWeight: { type: "integer", minimum: 1, default: 100, description: "Largest weight allowed (default 100: weights are percentages)." },
    weightEnvVars: {
      type: "array",
      items: { type: "string" },
      default: ["CLASSROOM_TRACK_WEIGHT"],
      description: "Container env vars carrying an RPC instance's registry weight (default CLASSROOM_TRACK_WEIGHT, read by runtime/discovery).",
    },
  },
  check(obj, config, report) {
    if (isRoute(obj)) {
      asArray(at(obj.raw, "spec", "rules")).forEach((rule, i) =>
        asArray(at(rule, "backendRefs")).forEach((ref, j) => {
          const problem = checkWeight(at(ref, "weight"), config.maxWeight);
          if (problem) report(`rules[${i}].backendRefs[${j}] (${asString(at(ref, "name")) ?? "?"}) weight ${problem}`);
        }),
      );
    }
    for (const c of containers(obj)) {
      for (const e of asArray(c.spec.env)) {
        const name = asString(at(e, "name"));
        if (name === undefined || !config.weightEnvVars.includes(name)) continue;
        const problem = checkWeight(at(e, "value"), config.maxWeight);
        if (problem) report(`${c.label} env ${name} ${problem}`);
      }
    }
    if (obj.kind === "Ingress" && obj.annotations[NGINX_CANARY] === "true") {
      const problem = checkWeight(obj.annotations[NGINX_WEIGHT], config.maxWeight);
      if (problem) report(`annotation ${NGINX_WEIGHT} ${problem}`);
    }
    for (const key of WEIGHT_KEYS) {
      for (const [where, map] of [
        ["label", obj.labels],
        ["annotation", obj.annotations],
      ] as const) {
        const problem = checkWeight(map[key], config.maxWeight);
        if (problem) report(`${where} ${key} ${problem}`);
      }
    }
  },
});

interface RouteConfig {
  weightTotal: number;
}

/** Whether a Service has anything to send traffic to: ready replicas behind its selector, or endpoints. */
function serves(svc: StackObject, objects: StackObject[]): boolean | undefined {
  const selector = at(svc.raw, "spec", "selector");
  if (isUnknown(selector)) return undefined;
  const sel = stringMap(selector);
  if (Object.keys(sel).length === 0) {
    const slices = objects.filter((o) => o.kind === "EndpointSlice" && o.namespace === svc.namespace && o.labels["kubernetes.io/service-name"] === svc.name);
    if (slices.some((s) => isUnknown(s.raw.endpoints))) return undefined;
    return slices.some((s) => asArray(s.raw.endpoints).length > 0);
  }
  let total = 0;
  for (const w of objects.filter((o) => hasPodTemplate(o) && o.namespace === svc.namespace)) {
    const sets = podLabelSets(w);
    if (!sets) return undefined;
    const matching = sets.filter((l) => mapMatches(sel, l)).length;
    if (matching === 0) continue;
    const n = w.kind === "DaemonSet" || w.kind === "Pod" ? 1 : replicas(w);
    if (n === undefined) return undefined;
    const hpa = objects.some(
      (h) => h.kind === "HorizontalPodAutoscaler" && h.namespace === w.namespace && asString(at(h.raw, "spec", "scaleTargetRef", "name")) === w.name,
    );
    // A StatefulSet's label sets are its pods (a selector may pick single ordinals); others share one set.
    total += w.kind === "StatefulSet" ? matching : hpa ? Math.max(n, 1) : n;
  }
  return total > 0;
}

export const httprouteBackendsConsistent = stackRule<RouteConfig>({
  name: "httproute-backends-consistent",
  description:
    "Every HTTPRoute backendRef names a Service of the stack (and one of its ports), the weights of each rule sum to 100, and no backend with weight gets traffic it cannot serve.",
  enforcementLevel: "mandatory",
  config: {
    weightTotal: { type: "integer", minimum: 1, default: 100, description: "What the weights of each route rule must add up to (default 100)." },
  },
  check(objects, config, report) {
    for (const route of objects.filter(isRoute)) {
      asArray(at(route.raw, "spec", "rules")).forEach((rule, i) => {
        const refs = asArray(at(rule, "backendRefs"));
        if (refs.length === 0 || refs.some((r) => isUnknown(r) || isUnknown(at(r, "weight")))) return;
        let sum = 0;
        refs.forEach((r, j) => {
          const ref = asObject(r) ?? {};
          const where = `rules[${i}].backendRefs[${j}]`;
          const weight = ref.weight === undefined || ref.weight === null ? 1 : (asNumber(ref.weight) ?? 0);
          sum += weight;
          const kind = asString(ref.kind) ?? "Service";
          const group = asString(ref.group) ?? "";
          if (kind !== "Service" || group !== "") return;
          const name = asString(ref.name);
          const ns = asString(ref.namespace) ?? route.namespace;
          if (name === undefined) return;
          const svc = objects.find((o) => o.kind === "Service" && o.name === name && o.namespace === ns);
          if (!svc) {
            report(route, `${where} names Service ${ns}/${name}, which is not in the stack`);
            return;
          }
          if (ns !== route.namespace && !objects.some((o) => o.kind === "ReferenceGrant" && o.namespace === ns)) {
            report(route, `${where} points into namespace ${ns} without a ReferenceGrant there`);
          }
          const port = asNumber(ref.port);
          const rawPorts = asArray(at(svc.raw, "spec", "ports")).map((p) => at(p, "port"));
          const ports = rawPorts.map(asNumber);
          if (port !== undefined && ports.length && !rawPorts.some(isUnknown) && !ports.includes(port)) {
            report(route, `${where} uses port ${port}, which Service ${name} does not expose (ports: ${ports.join(", ")})`);
          }
          if (weight > 0 && serves(svc, objects) === false) {
            report(route, `${where} sends weight ${weight} to Service ${name}, which has no pods or endpoints to serve it`);
          }
        });
        const weighted = refs.some((r) => at(r, "weight") !== undefined && at(r, "weight") !== null);
        if (!weighted) {
          // One backend without a weight gets all traffic; several split it evenly, which nobody configured.
          if (refs.length > 1) report(route, `rules[${i}] has ${refs.length} backends without weights; give each a weight, summing to ${config.weightTotal}`);
        } else if (sum !== config.weightTotal) {
          report(route, `rules[${i}] backend weights sum to ${sum}; they must sum to ${config.weightTotal}`);
        }
      });
    }
  },
});

/** The Service an HTTPRoute is attached to through the GAMMA (mesh) binding, if it is one. */
function serviceParent(route: StackObject): { name: string; namespace: string; port?: number } | undefined {
  for (const ref of asArray(at(route.raw, "spec", "parentRefs"))) {
    if (isUnknown(ref)) continue;
    const group = asString(at(ref, "group")) ?? "gateway.networking.k8s.io";
    if (asString(at(ref, "kind")) !== "Service" || (group !== "" && group !== "core")) continue;
    const name = asString(at(ref, "name"));
    if (name !== undefined) return { name, namespace: asString(at(ref, "namespace")) ?? route.namespace ?? "", port: asNumber(at(ref, "port")) };
  }
  return undefined;
}

/** Whether a route is attached to a Gateway (north-south): parentRefs known, one of kind Gateway (the default kind). */
function attachedToGateway(route: StackObject): boolean {
  const refs = at(route.raw, "spec", "parentRefs");
  if (isUnknown(refs)) return false;
  return asArray(refs).some((ref) => !isUnknown(ref) && (asString(at(ref, "kind")) ?? "Gateway") === "Gateway");
}

/** Weight by backend Service name of a route's rules, or undefined while any of it is unknown. */
function weightsByBackend(route: StackObject): Map<string, number> | undefined {
  const weights = new Map<string, number>();
  const rules = at(route.raw, "spec", "rules");
  if (isUnknown(at(route.raw, "spec")) || isUnknown(rules)) return undefined;
  for (const rule of asArray(rules)) {
    if (isUnknown(rule) || isUnknown(at(rule, "backendRefs"))) return undefined;
    for (const ref of asArray(at(rule, "backendRefs"))) {
      if (isUnknown(ref)) return undefined;
      const name = asString(at(ref, "name"));
      const raw = at(ref, "weight");
      if (name === undefined || isUnknown(raw)) return undefined;
      weights.set(name, raw === undefined || raw === null ? 1 : (asNumber(raw) ?? 0));
    }
  }
  return weights;
}

const show = (w: Map<string, number>) => [...w].map(([n, x]) => `${n}=${x}`).join(", ");

export const eastWestWeightsMatch = stackRule({
  name: "east-west-weights-match",
  description:
    "An HTTPRoute attached to a Service (Gateway API GAMMA, east-west) sits in that Service's namespace beside it, sends only to backends of the same app, and splits by the same weights as the app's north-south HTTPRoute, so a canary at 10% takes 10% of in-cluster calls too.",
  enforcementLevel: "mandatory",
  check(objects, _config, report) {
    const routes = objects.filter(isRoute);
    for (const route of routes) {
      const parent = serviceParent(route);
      if (!parent) continue;
      if (parent.namespace !== route.namespace) {
        report(
          route,
          `is attached to Service ${parent.namespace}/${parent.name} in another namespace; a GAMMA route that splits a service's calls must sit in the Service's own namespace`,
        );
        continue;
      }
      const svc = objects.find((o) => o.kind === "Service" && o.namespace === parent.namespace && o.name === parent.name);
      if (!svc) {
        report(route, `is attached to Service ${parent.namespace}/${parent.name}, which is not in the stack`);
        continue;
      }
      const app = svc.labels[NAME];
      const weights = weightsByBackend(route);
      if (!weights) continue;
      for (const backend of weights.keys()) {
        const target = objects.find((o) => o.kind === "Service" && o.namespace === route.namespace && o.name === backend);
        if (app && target && target.labels[NAME] !== app) {
          report(route, `splits calls to ${parent.name} (${NAME}=${app}) onto Service ${backend} of ${NAME}=${target.labels[NAME] ?? "(none)"}`);
        }
      }
      // The north-south route of the same app: attached to a Gateway, with backends of that app.
      const northSouth = routes.filter((r) => r !== route && r.namespace === route.namespace && attachedToGateway(r) && r.labels[NAME] === app);
      for (const ns of northSouth) {
        const nsWeights = weightsByBackend(ns);
        if (!nsWeights) continue;
        const names = new Set([...weights.keys(), ...nsWeights.keys()]);
        if ([...names].some((n) => (weights.get(n) ?? 0) !== (nsWeights.get(n) ?? 0))) {
          report(
            route,
            `splits east-west calls ${show(weights)}, but the north-south HTTPRoute ${ns.name} splits ${show(nsWeights)}; both must carry the same weights`,
          );
        }
      }
    }
  },
});

export const platformTrafficRules = [canaryBesideStable, canaryWeightRange, httprouteBackendsConsistent, eastWestWeightsMatch];
