/**
 * An object as the comparison between synth (mocks) and the engine's render sees it: values only a
 * deployment knows are replaced by a marker. Each rule names why it is not a difference that matters.
 */
export function comparableSpec(object: Record<string, any>): Record<string, any> {
  const copy = JSON.parse(JSON.stringify(object)) as Record<string, any>;
  // Secret payloads hold generated passwords (placeholders under mocks); stringData is rendered as base64 data.
  if (copy.kind === "Secret") {
    const keys = [...Object.keys(copy.data ?? {}), ...Object.keys(copy.stringData ?? {})].sort();
    delete copy.data;
    delete copy.stringData;
    copy.secretKeys = keys;
  }
  return copy;
}
