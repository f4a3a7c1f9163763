import { Instance, Track, TRACKS } from "./contract";

/** Anything that can say which instances are live right now (a watch handle, or a plain function). */
export type InstanceSource = { current(): Instance[] } | (() => Instance[]);

/**
 * What a caller may tell the picker about one call (request-based gray routing for rpc):
 * - `track`: the call goes to this track while it has a choosable instance (a teacher's session pinned
 *   to the canary, say); otherwise the split decides, so a rolled-back canary never strands a caller.
 * - `key`: calls with the same key (a class id) go to the same track: the key hashes to a point in
 *   0-100 and lands on the canary when the point is below the canary's share. Raising the canary's
 *   weight only ever moves keys from stable to canary, never back, so a class changes track at most once.
 */
export interface PickTag {
  track?: Track;
  key?: string;
}

export interface Picker {
  /** The next instance to call, or undefined when no instance may be chosen (none live, or all weight 0). */
  pick(tag?: PickTag): Instance | undefined;
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
    pick(tag?: PickTag) {
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
      const choose = (track: Track) => {
        const members = byTrack[track].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const chosen = members[cursor[track] % members.length];
        cursor[track] = (cursor[track] + 1) % Number.MAX_SAFE_INTEGER;
        return chosen;
      };
      // Tagged calls leave the smooth round's credit alone: they are the caller's choice, not the split's.
      if (tag?.track && byTrack[tag.track].length > 0) return choose(tag.track);
      if (tag?.key !== undefined) return choose(keyPoint(tag.key) < (100 * canary) / total ? "canary" : "stable");
      let best: Track | undefined;
      TRACKS.forEach((track, i) => {
        if (weights[i] === 0) return;
        credit[track] += weights[i];
        if (best === undefined || credit[track] > credit[best]) best = track;
      });
      const track = best!;
      credit[track] -= total;
      return choose(track);
    },
  };
}

/** A key's fixed point in [0, 100): FNV-1a, so every caller process puts a key on the same track. */
export function keyPoint(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 10_000) / 100;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
