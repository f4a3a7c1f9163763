// Label selector semantics (metav1.LabelSelector and the plain maps Services use), as the API server applies them.
import { asArray, asObject, asString, isUnknown } from "./k8s";

/** A label value a controller sets at run time (hashes): equal to whatever a selector asks for. */
export const ANY_LABEL_VALUE = "\u0000any";

function valueIs(labels: Record<string, string>, key: string, value: string): boolean {
  return labels[key] === value || labels[key] === ANY_LABEL_VALUE;
}

/**
 * Whether a LabelSelector ({ matchLabels, matchExpressions }) selects `labels`. An empty selector selects
 * everything. Returns undefined when the selector holds values unknown during preview.
 */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean | undefined {
  if (isUnknown(selector)) return undefined;
  const sel = asObject(selector) ?? {};
  const matchLabels = sel.matchLabels;
  if (isUnknown(matchLabels) || isUnknown(sel.matchExpressions)) return undefined;
  for (const [key, value] of Object.entries(asObject(matchLabels) ?? {})) {
    if (isUnknown(value)) return undefined;
    if (typeof value !== "string" || !valueIs(labels, key, value)) return false;
  }
  for (const expr of asArray(sel.matchExpressions)) {
    const e = asObject(expr);
    const key = asString(e?.key);
    const op = asString(e?.operator);
    if (!e || key === undefined || op === undefined) return undefined;
    const values = asArray(e.values).map(asString);
    if (values.some((v) => v === undefined)) return undefined;
    const has = key in labels;
    switch (op) {
      case "In":
        if (!has || !values.some((v) => valueIs(labels, key, v!))) return false;
        break;
      case "NotIn":
        if (has && labels[key] !== ANY_LABEL_VALUE && values.includes(labels[key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false; // the API server rejects other operators; nothing is selected
    }
  }
  return true;
}

/** A selector with no matchLabels and no matchExpressions: selects every pod. */
export function isEmptySelector(selector: unknown): boolean {
  const sel = asObject(selector);
  if (isUnknown(selector)) return false;
  if (!sel) return true;
  return Object.keys(asObject(sel.matchLabels) ?? {}).length === 0 && asArray(sel.matchExpressions).length === 0;
}

/** Whether a plain equality map (Service spec.selector, PDB-style matchLabels) selects `labels`. */
export function mapMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => valueIs(labels, k, v));
}

/** `{a=b, c=d}` for messages. */
export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels).filter(([, v]) => v !== ANY_LABEL_VALUE);
  return entries.length ? `{${entries.map(([k, v]) => `${k}=${v}`).join(", ")}}` : "{}";
}

/** A LabelSelector for messages. */
export function formatSelector(selector: unknown): string {
  const sel = asObject(selector) ?? {};
  const parts: string[] = [];
  for (const [k, v] of Object.entries(asObject(sel.matchLabels) ?? {})) parts.push(`${k}=${String(v)}`);
  for (const expr of asArray(sel.matchExpressions)) {
    const e = asObject(expr) ?? {};
    const values = asArray(e.values).map(String).join(",");
    parts.push(`${String(e.key)} ${String(e.operator)}${values ? ` (${values})` : ""}`);
  }
  return parts.length ? `{${parts.join(", ")}}` : "{}";
}

/** Whether `test` selects at least one pod of `sets` (undefined when it cannot tell during preview). */
export function selectsAny(
  sets: Array<Record<string, string>> | undefined,
  test: (labels: Record<string, string>) => boolean | undefined,
): boolean | undefined {
  if (!sets) return undefined;
  let unknown = false;
  for (const labels of sets) {
    const r = test(labels);
    if (r === true) return true;
    if (r === undefined) unknown = true;
  }
  return unknown ? undefined : false;
}
