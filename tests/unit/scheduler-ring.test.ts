import { ReplicaRing } from "../../runtime/scheduler/ring";

describe("scheduler claim order (rendezvous hashing over live replicas)", () => {
  const jobs = Array.from({ length: 600 }, (_, i) => `job-${i}`);
  const ring = (self: string, alive: string[]) => {
    const r = new ReplicaRing(self);
    r.update(alive);
    return r;
  };

  it("gives every job exactly one home replica, spread roughly evenly", () => {
    const alive = ["r1", "r2", "r3"];
    const rings = alive.map((id) => ring(id, alive));
    const homes = jobs.map((job) => rings.filter((r) => r.isHome(job)).length);
    expect(homes.every((n) => n === 1)).toBe(true);
    for (const r of rings) {
      const share = jobs.filter((job) => r.isHome(job)).length;
      expect(share).toBeGreaterThan(150);
      expect(share).toBeLessThan(250);
    }
  });

  it("when a replica leaves, only its jobs move", () => {
    const before = ring("r1", ["r1", "r2", "r3"]);
    const after = ring("r1", ["r1", "r2"]);
    const r3 = ring("r3", ["r1", "r2", "r3"]);
    for (const job of jobs) {
      if (before.isHome(job)) expect(after.isHome(job)).toBe(true);
      if (after.isHome(job) && !before.isHome(job)) expect(r3.isHome(job)).toBe(true);
    }
  });

  it("names the home of every job alike on every replica with the same member list, and says so by digest", () => {
    const alive = ["r1", "r2", "r3"];
    const rings = alive.map((id) => ring(id, [...alive].reverse()));
    expect(new Set(rings.map((r) => r.digest)).size).toBe(1);
    for (const job of jobs) expect(new Set(rings.map((r) => r.homeOf(job))).size).toBe(1);
    // A replica that has not seen r3 yet may disagree on homes: its digest tells the others.
    expect(ring("r1", ["r1", "r2"]).digest).not.toBe(rings[0].digest);
  });

  it("a replica that sees nobody else is home for everything", () => {
    const alone = new ReplicaRing("r9");
    expect(jobs.every((job) => alone.isHome(job))).toBe(true);
  });
});
