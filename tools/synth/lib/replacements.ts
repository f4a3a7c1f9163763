import { objectKey } from "./diff";
import { GENERATED_PASSWORD_PREFIX, Rendered } from "./render";
import { ResourceIdentity, urnName } from "./urns";

/** A resource whose URN changes between two renders with no alias for the old one: the engine replaces it. */
export interface Replacement {
  before: ResourceIdentity;
  after: ResourceIdentity;
  /** `Kind/namespace/name` when it is a Kubernetes object, else its URN. */
  resource: string;
  /** Why replacing it loses data or credentials; undefined for resources a replacement only churns. */
  stateful?: string;
  /** The alias that keeps the resource: what to add to the renamed resource's (or its parent's) options. */
  alias: string;
}

type Render = Pick<Rendered, "identities" | "objects">;

/**
 * Pairs each URN that disappears with one that appears for the same thing: the same Kubernetes object
 * (kind, namespace, name), else the same type and name (a parent renamed or moved), else the only
 * resource of that type that appears under the same parent (a child renamed). A URN covered by an alias
 * of the new render is not a replacement: the engine moves the state over.
 */
export function findReplacements(before: Render, after: Render): Replacement[] {
  const afterUrns = new Set(after.identities.map((r) => r.urn));
  const claimed = new Set(after.identities.flatMap((r) => r.aliases));
  const beforeUrns = new Set(before.identities.map((r) => r.urn));
  const vanished = before.identities.filter((r) => !afterUrns.has(r.urn) && !claimed.has(r.urn));
  // An alias synth cannot read (an Output) may cover any old URN: such a resource is given the benefit of the doubt.
  const appeared = after.identities.filter((r) => !beforeUrns.has(r.urn) && !r.aliases.some((a) => beforeUrns.has(a)) && r.opaqueAliases === 0);
  const objectsBefore = objectsByResource(before);
  const objectsAfter = objectsByResource(after);
  const key = (objects: Map<string, Record<string, any>>, r: ResourceIdentity) => {
    const object = objects.get(`${r.type}::${r.name}`);
    return object ? objectKey(object) : undefined;
  };
  const taken = new Set<ResourceIdentity>();
  const pairs: Array<[ResourceIdentity, ResourceIdentity]> = [];
  const rules: Array<(old: ResourceIdentity, next: ResourceIdentity) => boolean> = [
    (old, next) => key(objectsBefore, old) !== undefined && key(objectsBefore, old) === key(objectsAfter, next),
    (old, next) => old.name === next.name,
    (old, next) => old.parent === next.parent && appeared.filter((r) => !taken.has(r) && r.type === old.type && r.parent === old.parent).length === 1,
  ];
  const unpaired = new Set(vanished);
  for (const rule of rules) {
    for (const old of [...unpaired]) {
      const next = appeared.find((r) => !taken.has(r) && r.type === old.type && rule(old, r));
      if (!next) continue;
      taken.add(next);
      unpaired.delete(old);
      pairs.push([old, next]);
    }
  }
  const pairedUrns = new Map(pairs.map(([old, next]) => [old.urn, next.urn]));
  return pairs
    .map(([old, next]) => ({
      before: old,
      after: next,
      resource: key(objectsBefore, old) ?? old.urn,
      stateful: statefulReason(old, objectsBefore.get(`${old.type}::${old.name}`)),
      alias: suggestAlias(old, next, pairedUrns),
    }))
    .sort((a, b) => a.before.urn.localeCompare(b.before.urn));
}

function objectsByResource(render: Render): Map<string, Record<string, any>> {
  return new Map(render.objects.map((o) => [`${o.type}::${o.name}`, o.object]));
}

/** What a replacement of this resource destroys, if anything a redeploy cannot bring back. */
export function statefulReason(resource: ResourceIdentity, object: Record<string, any> | undefined): string | undefined {
  if (resource.type.startsWith("random:")) return "a new value is generated: the data system keeps the old one, and its clients get the new one";
  switch (object?.kind) {
    case "StatefulSet":
      return "the engine creates the new resource and deletes the old one: the StatefulSet and every replica go down";
    case "PersistentVolumeClaim":
      return "deleting the old resource deletes the claim and the data on its volume";
    case "Secret":
      if (JSON.stringify(object).includes(GENERATED_PASSWORD_PREFIX))
        return "the Secret holds generated passwords: the engine deletes it with the old resource";
  }
  return undefined;
}

/**
 * The smallest alias that covers the old URN: the old name when only the name changed; else, when the
 * parent's URN changed too, an alias on the parent (children inherit their parent's aliases); else the old URN.
 */
function suggestAlias(old: ResourceIdentity, next: ResourceIdentity, pairedUrns: Map<string, string>): string {
  if (old.parent === next.parent) return `aliases: [{ name: ${JSON.stringify(old.name)} }]`;
  if (old.parent && next.parent && pairedUrns.get(old.parent) === next.parent) {
    return `aliases: [${JSON.stringify(old.parent)}] on its parent ${urnName(next.parent)} (children inherit it), or aliases: [${JSON.stringify(old.urn)}]`;
  }
  return `aliases: [${JSON.stringify(old.urn)}]`;
}
