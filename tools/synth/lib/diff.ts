/** An object of a render: a bare Kubernetes object, or synth's RenderedObject (which carries it in `object`). */
export type RenderedInput = Record<string, any> | { type: string; name: string; object: Record<string, any> };

/** One field that differs between two versions of an object. */
export interface FieldChange {
  /** Field path such as `spec.template.spec.containers[name=app].image` or `metadata.labels["app.kubernetes.io/version"]`. */
  path: string;
  /** Value before; absent when the field was added. */
  before?: unknown;
  /** Value after; absent when the field was removed. */
  after?: unknown;
}

/** An object present in both renders whose content differs. */
export interface ObjectChange {
  /** `Kind/namespace/name` (namespace empty for cluster-scoped objects). */
  key: string;
  fields: FieldChange[];
}

/** What changes between two renders, object by object, keyed by `Kind/namespace/name`. */
export interface SynthDiff {
  /** Keys of objects only the second render has, sorted. */
  added: string[];
  /** Objects in both renders whose content differs, sorted by key. */
  changed: ObjectChange[];
  /** Keys of objects only the first render has, sorted. */
  removed: string[];
}

/** The Kubernetes object inside either input shape. */
export function kubernetesObject(input: RenderedInput): Record<string, any> {
  return "object" in input && typeof input.type === "string" && input.object && typeof input.object === "object" ? input.object : input;
}

/** Stable identity of an object: `Kind/namespace/name`. */
export function objectKey(object: Record<string, any>): string {
  return `${object.kind}/${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
}

/** Objects of a render by `Kind/namespace/name`. */
export function indexByKey(objects: readonly RenderedInput[]): Map<string, Record<string, any>> {
  const index = new Map<string, Record<string, any>>();
  for (const input of objects) {
    const object = kubernetesObject(input);
    index.set(objectKey(object), object);
  }
  return index;
}

/** Compares two renders of a stack: which objects appear, disappear, or change, and in which fields. */
export function diffRenders(before: readonly RenderedInput[], after: readonly RenderedInput[]): SynthDiff {
  const old = indexByKey(before);
  const next = indexByKey(after);
  const added = [...next.keys()].filter((key) => !old.has(key)).sort();
  const removed = [...old.keys()].filter((key) => !next.has(key)).sort();
  const changed: ObjectChange[] = [];
  for (const [key, object] of old) {
    const other = next.get(key);
    if (!other) continue;
    const fields = diffValues(object, other);
    if (fields.length > 0) changed.push({ key, fields });
  }
  changed.sort((a, b) => a.key.localeCompare(b.key));
  return { added, changed, removed };
}

/** Whether the two renders declare exactly the same objects. */
export function isEmptyDiff(diff: SynthDiff): boolean {
  return diff.added.length === 0 && diff.changed.length === 0 && diff.removed.length === 0;
}

/**
 * Leaf-level differences between two JSON values, with paths relative to them (prefixed by `path`).
 * Lists whose items all carry a unique `name` (containers, env, ports, volumes, backendRefs) are matched
 * by name, as Kubernetes merges them, so inserting one env var does not show every later one as changed.
 */
export function diffValues(before: unknown, after: unknown, path = ""): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, path, out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: FieldChange[]): void {
  if (deepEqual(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const k of keys) {
      const p = joinKey(path, k);
      if (!(k in b)) out.push({ path: p, before: a[k] });
      else if (!(k in a)) out.push({ path: p, after: b[k] });
      else walk(a[k], b[k], p, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const namesA = itemNames(a);
    const namesB = itemNames(b);
    if (namesA && namesB) {
      const byName = new Map(b.map((item, i) => [namesB[i], item]));
      const seen = new Set<string>();
      a.forEach((item, i) => {
        const name = namesA[i];
        const p = `${path}[name=${name}]`;
        seen.add(name);
        if (byName.has(name)) walk(item, byName.get(name), p, out);
        else out.push({ path: p, before: item });
      });
      b.forEach((item, i) => {
        if (!seen.has(namesB[i])) out.push({ path: `${path}[name=${namesB[i]}]`, after: item });
      });
      return;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const p = `${path}[${i}]`;
      if (i >= b.length) out.push({ path: p, before: a[i] });
      else if (i >= a.length) out.push({ path: p, after: b[i] });
      else walk(a[i], b[i], p, out);
    }
    return;
  }
  out.push({ path: path || "(whole value)", before: a, after: b });
}

/** Unique `name` of every item, or undefined when the list is not keyed by name. */
function itemNames(list: unknown[]): string[] | undefined {
  // Claim templates carry their name in metadata.name.
  const names = list.map((item) =>
    !isPlainObject(item)
      ? undefined
      : typeof item.name === "string"
        ? item.name
        : isPlainObject(item.metadata) && typeof item.metadata.name === "string"
          ? item.metadata.name
          : undefined,
  );
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length) return undefined;
  return names as string[];
}

function joinKey(path: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The diff as text: one line per object (`+`, `~`, `-`), changed objects followed by their field paths. */
export function formatDiff(diff: SynthDiff, options: { title?: string; maxValueLength?: number } = {}): string {
  const max = options.maxValueLength ?? 60;
  const lines = [`${options.title ?? "synth diff"}: ${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed`];
  for (const key of diff.added) lines.push(`  + ${key}`);
  for (const change of diff.changed) {
    lines.push(`  ~ ${change.key}`);
    for (const f of change.fields) {
      const detail = !("before" in f)
        ? `added ${show(f.after, max)}`
        : !("after" in f)
          ? `removed (was ${show(f.before, max)})`
          : `${show(f.before, max)} -> ${show(f.after, max)}`;
      lines.push(`      ${f.path}: ${detail}`);
    }
  }
  for (const key of diff.removed) lines.push(`  - ${key}`);
  return lines.join("\n");
}

function show(value: unknown, max: number): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
