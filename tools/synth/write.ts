import * as path from "node:path";
import { stringify } from "yaml";
import { replaceOwnedFiles } from "./out-dir";
import type { RenderedObject } from "./index";

/**
 * Writes one YAML file per object under `dir/<namespace or _cluster>/<kind>-<name>.yaml` (plus `extra`
 * files such as topology.md, by path relative to `dir`), replacing what
 * a previous run wrote there (and only that, see out-dir.ts), so that `diff -r` between two runs is the
 * synth diff. `dir` must have passed checkOutDir.
 */
export function writeManifests(objects: RenderedObject[], dir: string, extra: ReadonlyMap<string, string> = new Map()): string[] {
  const files = new Map<string, string>(extra);
  for (const { object } of objects) {
    const ns = object.metadata?.namespace ?? "_cluster";
    files.set(`${ns}/${String(object.kind).toLowerCase()}-${object.metadata?.name}.yaml`, stringify(object, { sortMapEntries: false, lineWidth: 0 }));
  }
  replaceOwnedFiles(dir, files);
  return [...files.keys()].map((rel) => path.join(dir, rel));
}
