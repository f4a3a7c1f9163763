import { Instance, Track, TRACKS } from "./contract";

/** Anything that can say which instances are live right now (a watch handle, or a plain function). */
export type InstanceSource = { current(): Instance[] } | (() => Instance[]);

export interface Picker {
  /** The next instance to call, or undefined when no instance may be chosen (none live, or all weight 0). */
  pick(): Instance | undefined;
}

/**
 * Splits calls between the stable and canary tracks by their weights, round-robin inside a track.
 *
 * - A track's weight is the mean weight of its instances (they normally agree; the mean keeps the
 *   split smooth while a weight change rolls through the pods). Stable gets at most what the canary
 *   leaves (100 - canary), so stable instances may simply register 100.
 * - Instances with weight 0 are never chosen; a track with no choosable instance gives its share to
 *   the other track (so canary 10 with no canary pods sends everything to stable).
 * - Track choice is nginx's smooth weighted round-robin: deterministic, and every window of
 *   `sum of weights` picks matches the weights exactly, with no bursts to one track.
 */
export function createPicker(source: InstanceSource): Picker {
  const read = typeof source === "function" ? source : () => source.current();
  const credit: Record<Track, number> = { stable: 0, canary: 0 };
  const cursor: Record<Track, number> = { stable: 0, canary: 0 };
  let lastKey = "";

  return {
    pick() {
      const byTrack: Record<Track, Instance[]> = { stable: [], canary: [] };
      for (const instance of read()) if (instance.weight > 0) byTrack[instance.track]?.push(instance);
      // The canary's weight is the one number a gray-release step changes; stable takes the rest, so the
      // platform never restarts stable pods to re-weight them (they register with weight 100).
      const canary = mean(byTrack.canary.map((i) => i.weight));
      const stable = Math.min(mean(byTrack.stable.map((i) => i.weight)), 100 - canary);
      const weights = TRACKS.map((t) => (t === "canary" ? canary : stable));
      // A different set of live tracks/weights starts a fresh smooth round so old credit cannot skew it.
      const key = weights.join(",");
      if (key !== lastKey) {
        credit.stable = 0;
        credit.canary = 0;
        lastKey = key;
      }
      const total = weights.reduce((a, b) => a + b, 0);
      if (total === 0) return undefined;
      let best: Track | undefined;
      TRACKS.forEach((track, i) => {
        if (weights[i] === 0) return;
        credit[track] += weights[i];
        if (best === undefined || credit[track] > credit[best]) best = track;
      });
      const track = best!;
      credit[track] -= total;
      const members = byTrack[track].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const chosen = members[cursor[track] % members.length];
      cursor[track] = (cursor[track] + 1) % Number.MAX_SAFE_INTEGER;
      return chosen;
    },
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
