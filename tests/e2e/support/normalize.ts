// Comparing what synth renders under Pulumi's mocks with what the real engine produced. Each rule below
// names why a difference is not one that matters; anything else is reported.

/** Values synth's mocks stand in for generated ones (tools/synth/render.ts mockState). */
const MOCK_VALUE = /generated-at-deploy-|^A{22}$|^0{32}$/;
/** Annotations that hash generated passwords: they differ whenever the passwords do. */
const GENERATED_HASH_ANNOTATIONS = ["classroom.io/secret-checksum"];

/** An object with what only a deployment knows taken out, so synth and engine output compare equal. */
export function comparableSpec(object: Record<string, any>): Record<string, any> {
  const copy = dropEmpty(JSON.parse(JSON.stringify(object))) as Record<string, any>;
  // Secret payloads hold generated passwords (placeholders under mocks); compare which keys they carry.
  if (copy.kind === "Secret") {
    const keys = [...Object.keys(copy.data ?? {}), ...Object.keys(copy.stringData ?? {})].sort();
    delete copy.data;
    delete copy.stringData;
    copy.secretKeys = keys;
  }
  for (const annotations of [copy.metadata?.annotations, copy.spec?.template?.metadata?.annotations]) {
    for (const key of GENERATED_HASH_ANNOTATIONS) if (annotations?.[key]) annotations[key] = "<hash of generated values>";
  }
  return copy;
}

/**
 * The Kubernetes provider leaves empty maps and lists out of what it writes (`data: {}`, `ingress: []`);
 * the API server treats them as unset too.
 */
function dropEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmpty);
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, dropEmpty(v)] as const)
      .filter(([, v]) => !(v && typeof v === "object" && Object.keys(v).length === 0));
    return Object.fromEntries(entries);
  }
  return value;
}

/**
 * Paths where `synth` and `engine` differ, as `path: a -> b` lines. A mock placeholder in synth matches
 * any string the engine generated in its place (a password, a cluster id).
 */
export function differences(synth: unknown, engine: unknown, at = ""): string[] {
  if (JSON.stringify(synth) === JSON.stringify(engine)) return [];
  if (typeof synth === "string" && typeof engine === "string" && MOCK_VALUE.test(synth)) return [];
  if (synth && engine && typeof synth === "object" && typeof engine === "object" && Array.isArray(synth) === Array.isArray(engine)) {
    const keys = new Set([...Object.keys(synth as object), ...Object.keys(engine as object)]);
    return [...keys].flatMap((k) => differences((synth as any)[k], (engine as any)[k], Array.isArray(synth) ? `${at}[${k}]` : `${at}.${k}`));
  }
  const show = (v: unknown) => (v === undefined ? "unset" : JSON.stringify(v).slice(0, 80));
  return [`${at || "."}: ${show(synth)} -> ${show(engine)}`];
}
