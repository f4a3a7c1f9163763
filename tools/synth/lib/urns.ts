import * as pulumi from "@pulumi/pulumi";

/** A resource's identity to the engine: its URN, and the URNs of earlier versions its aliases claim. */
export interface ResourceIdentity {
  /** `urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>`, as the engine computes it. */
  urn: string;
  type: string;
  name: string;
  /** The parent's URN; absent for resources directly under the stack. */
  parent?: string;
  /** Old URNs this resource takes over: its own `aliases` and those inherited from its parents' aliases. */
  aliases: string[];
  /** Aliases given as unresolved Outputs, which synth cannot read (the engine can). */
  opaqueAliases: number;
}

/**
 * Observes every resource a program constructs and computes its URN and alias URNs the way the engine
 * does. Pulumi's mocks hand `newResource` neither the parent nor the aliases, and their own URNs keep only
 * the closest parent's type, so the identities come from a stack transformation (run by the SDK itself,
 * in every resource's constructor, with the options the program passed).
 */
export function resourceIdentities(project: string, stack: string): { observe(): void; list(): ResourceIdentity[] } {
  const byResource = new Map<pulumi.Resource, ResourceIdentity>();
  const identities: ResourceIdentity[] = [];
  return {
    /** Call inside the stack (runInPulumiStack), before the program declares anything. */
    observe() {
      pulumi.runtime.registerStackTransformation((args) => {
        const parent = args.opts.parent ? byResource.get(args.opts.parent) : undefined;
        const identity = identify({ project, stack }, args.type, args.name, parent, args.opts.aliases ?? [], (r) => byResource.get(r)?.urn);
        byResource.set(args.resource, identity);
        identities.push(identity);
        return undefined;
      });
    },
    list: () => [...identities],
  };
}

type Scope = { project: string; stack: string };

/** The engine's URN for a resource of `type` named `name` under the parent with URN `parentUrn`. */
export function urnOf(scope: Scope, type: string, name: string, parentUrn?: string): string {
  const chain = parentUrn ? `${qualifiedType(parentUrn)}$${type}` : type;
  return `urn:pulumi:${scope.stack}::${scope.project}::${chain}::${name}`;
}

/** `a$b$c` of `urn:pulumi:stack::project::a$b$c::name` (names may contain `::`, types do not). */
export function qualifiedType(urn: string): string {
  return urn.split("::")[2];
}

export function urnName(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

function urnType(urn: string): string {
  return qualifiedType(urn).split("$").pop()!;
}

/**
 * A resource's identity with the alias rules of the SDK's `allAliases`: each own alias, each parent alias
 * carried down to the child (a child named `<parent name>-x` follows its parent's old name), and each own
 * alias under each parent alias.
 */
export function identify(
  scope: Scope,
  type: string,
  name: string,
  parent: ResourceIdentity | undefined,
  aliases: readonly pulumi.Input<string | pulumi.Alias>[],
  urnOfResource: (r: pulumi.Resource) => string | undefined,
): ResourceIdentity {
  const urn = urnOf(scope, type, name, parent?.urn);
  let opaque = 0;
  const own: string[] = [];
  for (const alias of aliases) {
    const resolved = resolveAlias(scope, alias, type, name, parent?.urn, urnOfResource);
    if (resolved === undefined) opaque++;
    else own.push(resolved);
  }
  const inherited: string[] = [];
  if (parent) {
    for (const parentAlias of parent.aliases) {
      inherited.push(childAlias(scope, name, parent.name, parentAlias, type));
      for (const alias of own) inherited.push(childAlias(scope, urnName(alias), parent.name, parentAlias, urnType(alias)));
    }
  }
  return {
    urn,
    type,
    name,
    ...(parent ? { parent: parent.urn } : {}),
    aliases: [...new Set([...own, ...inherited])],
    opaqueAliases: opaque + (parent?.opaqueAliases ?? 0),
  };
}

/** The SDK's inheritedChildAlias: the child under the parent's old URN, renamed along if its name starts with the parent's. */
function childAlias(scope: Scope, childName: string, parentName: string, parentAlias: string, childType: string): string {
  const name = childName.startsWith(parentName) ? urnName(parentAlias) + childName.slice(parentName.length) : childName;
  return urnOf(scope, childType, name, parentAlias);
}

/** An alias as a URN, with the SDK's defaults (collapseAliasToUrn); undefined when part of it is an Output. */
function resolveAlias(
  scope: Scope,
  alias: pulumi.Input<string | pulumi.Alias>,
  type: string,
  name: string,
  parentUrn: string | undefined,
  urnOfResource: (r: pulumi.Resource) => string | undefined,
): string | undefined {
  if (typeof alias === "string") return alias;
  if (!isPlain(alias)) return undefined;
  const a = alias as pulumi.Alias;
  const field = <K extends keyof pulumi.Alias>(key: K, fallback: unknown) => (Object.prototype.hasOwnProperty.call(a, key) ? a[key] : fallback);
  const aliasName = field("name", name);
  const aliasType = field("type", type);
  const aliasProject = field("project", scope.project);
  const aliasStack = field("stack", scope.stack);
  const parent = field("parent", parentUrn);
  const aliasParent =
    parent === undefined ? undefined : typeof parent === "string" ? parent : pulumi.Resource.isInstance(parent) ? urnOfResource(parent) : null;
  if ([aliasName, aliasType, aliasProject, aliasStack].some((v) => typeof v !== "string") || aliasParent === null) return undefined;
  return urnOf({ project: aliasProject as string, stack: aliasStack as string }, aliasType as string, aliasName as string, aliasParent);
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}
