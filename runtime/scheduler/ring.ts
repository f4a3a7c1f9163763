/**
 * Which replica claims a job's fires first (rendezvous hashing over the live replicas). Without it,
 * the replica whose claim batch reaches Redis first would win every fire of an instant and have to
 * start them all alone. This is only an order: a backup claims a fire unless the home marked it
 * claimed under the same member list (`digest`), so a dead or late "home" replica costs nothing but
 * half a lookahead, and correctness never depends on it.
 */
export class ReplicaRing {
  private members: string[];
  private readonly homes = new Map<string, string>();
  private memberDigest = "";

  constructor(private readonly self: string) {
    this.members = [self];
    this.memberDigest = digestOf(this.members);
  }

  /** Names the member list: two replicas agree on every home exactly when their digests are equal. */
  get digest(): string {
    return this.memberDigest;
  }

  /** Replaces the member list (replicas seen alive recently); this replica is always a member. */
  update(alive: string[]): void {
    const next = [...new Set([...alive, this.self])].sort();
    if (next.join("\n") === this.members.join("\n")) return;
    this.members = next;
    this.memberDigest = digestOf(next);
    this.homes.clear();
  }

  isHome(job: string): boolean {
    return this.homeOf(job) === this.self;
  }

  homeOf(job: string): string {
    let home = this.homes.get(job);
    if (home === undefined) {
      let best = "";
      let bestScore = -1;
      for (const member of this.members) {
        const score = fnv1a(`${job}\u0000${member}`);
        if (score > bestScore) [best, bestScore] = [member, score];
      }
      home = best;
      this.homes.set(job, home);
    }
    return home;
  }
}

function digestOf(members: string[]): string {
  return fnv1a(members.join("\n")).toString(36);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // Final avalanche so that names differing in the last character spread well.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}
