/**
 * synth's render library: what tests, release, e2e and benches import. `cli.ts` is only its command line
 * (arguments, summary, writing files).
 *
 * Importing this module is cheap: the Pulumi SDK and the platform program (seconds to load) are loaded on
 * the first render, so that a caller's bad-input paths never wait for them.
 */
import type { SynthOptions, SynthResult } from "./lib/synthesize";

export type { SynthOptions, SynthResult } from "./lib/synthesize";
export type { Rendered, RenderedObject, RenderedResource } from "./lib/render";
export { isStackName, loadStackConfig, PROJECT_ROOT, showPath, StackFileError } from "./lib/stack-config";
export type { StackConfig } from "./lib/stack-config";
export type { ResourceIdentity } from "./lib/urns";
export type { Replacement } from "./lib/replacements";
export { deepEqual, diffRenders, diffValues, formatDiff, indexByKey, isEmptyDiff, kubernetesObject, objectKey } from "./lib/diff";
export type { FieldChange, ObjectChange, RenderedInput, SynthDiff } from "./lib/diff";
export {
  DataLossRefused,
  findUpgradeHazards,
  formatHazards,
  hazardsSinceRef,
  stackFileAtRef,
  verifyBaselineRef,
  CLAIM_REPLACEMENT_FIELDS,
  STATEFULSET_REPLACEMENT_FIELDS,
} from "./lib/upgrade-safety";
export type { UpgradeCheck, UpgradeHazard } from "./lib/upgrade-safety";

/** Loads the renderer (the Pulumi SDK and the platform program); later calls return the loaded module. */
export function loadRenderer(): Promise<typeof import("./lib/synthesize")> {
  return import("./lib/synthesize");
}

/** Config, render under Pulumi's mocks, schema check and policies: everything synth does except writing and reporting. */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  return (await loadRenderer()).synthesize(options);
}
