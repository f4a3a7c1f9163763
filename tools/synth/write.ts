import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { RenderedObject } from "./render";

/**
 * Writes one YAML file per object under `dir/<namespace or _cluster>/<kind>-<name>.yaml`, replacing what
 * a previous run left, so that `diff -r` between two runs is the synth diff.
 */
export function writeManifests(objects: RenderedObject[], dir: string): string[] {
  fs.rmSync(dir, { recursive: true, force: true });
  const files: string[] = [];
  for (const { object } of objects) {
    const ns = object.metadata?.namespace ?? "_cluster";
    const file = path.join(dir, ns, `${String(object.kind).toLowerCase()}-${object.metadata?.name}.yaml`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify(object, { sortMapEntries: false, lineWidth: 0 }));
    files.push(file);
  }
  return files;
}

/** Stable identity of an object: `Kind/namespace/name`. */
export function objectKey(object: Record<string, any>): string {
  return `${object.kind}/${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
}
