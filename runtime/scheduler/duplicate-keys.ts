import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

/** A key that appears twice in one JSON object, which JSON.parse resolves silently (the last one wins). */
export interface DuplicateKey {
  /** Keys leading to the object holding the duplicate; [] for the top level. */
  path: string[];
  key: string;
  /** 1-based lines of the first and the repeated occurrence. */
  lines: [number, number];
}

/**
 * Finds repeated keys in a JSON text. JSON is YAML 1.2 flow syntax, so the yaml package's parser
 * reads it with positions and keeps duplicates when asked to, which JSON.parse cannot report.
 * Call it on text JSON.parse accepted; anything yaml cannot read yields no findings.
 */
export function duplicateKeys(json: string): DuplicateKey[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(json, { uniqueKeys: false, lineCounter });
  if (doc.errors.length) return [];
  const found: DuplicateKey[] = [];
  const lineOf = (node: unknown) => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lineCounter.linePos(range[0]).line : 0;
  };
  const walk = (node: unknown, path: string[]): void => {
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const line = lineOf(pair.key);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, line);
        else found.push({ path, key, lines: [first, line] });
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, String(i)]));
    }
  };
  walk(doc.contents, []);
  return found;
}
