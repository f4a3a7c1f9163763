import { spawnSync } from "node:child_process";
import * as path from "node:path";

export interface SchemaProblem {
  /** Index into the validated list. */
  index: number;
  errors: string[];
}

/**
 * Validates objects against the Kubernetes 1.34 OpenAPI schemas bundled by kubernetes-models. Those
 * packages are ES modules only, and this project (like the Pulumi SDK) is CommonJS, so the check runs in
 * a small ESM worker process.
 */
export function validateSchemas(objects: Record<string, unknown>[]): SchemaProblem[] {
  const worker = path.join(__dirname, "schema-worker.mjs");
  const result = spawnSync(process.execPath, [worker], { input: JSON.stringify(objects), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`schema validation worker failed (exit ${result.status}): ${result.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return JSON.parse(result.stdout) as SchemaProblem[];
}
