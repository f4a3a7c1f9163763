import { createHash } from "node:crypto";

/**
 * A stable hash of configuration content for a pod-template annotation: when the content changes the
 * template changes and the workload rolls; when it does not, a re-run yields the same value (no diff).
 * Keys are sorted so that object ordering never causes a spurious roll.
 */
export function contentChecksum(content: unknown): string {
  return createHash("sha256").update(stableStringify(content)).digest("hex");
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}
