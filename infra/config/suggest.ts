import leven from "leven";

/**
 * The candidate nearest to a misspelled `word`, if it is near enough to be what the user meant: at most a
 * third of the word's letters differ (a typo, not a different word). Case is ignored.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = leven(word.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.candidate !== word && best.distance <= Math.max(1, Math.floor(word.length / 3)) ? best.candidate : undefined;
}
