import { cronProblem, dueFires, scheduleOf } from "../../runtime/scheduler/schedule";

const t = (iso: string) => Date.parse(iso);

describe("scheduler next-fire computation", () => {
  it("cron with seconds: the next fire strictly after a given instant", () => {
    const every5s = scheduleOf({ cron: "*/5 * * * * *", timezone: "UTC" });
    expect(every5s.nextAfter(t("2026-01-01T00:00:00.000Z"))).toBe(t("2026-01-01T00:00:05.000Z"));
    expect(every5s.nextAfter(t("2026-01-01T00:00:04.999Z"))).toBe(t("2026-01-01T00:00:05.000Z"));
    expect(every5s.nextAfter(t("2026-01-01T00:00:05.000Z"))).toBe(t("2026-01-01T00:00:10.000Z"));
  });

  it("cron is read in the job's time zone", () => {
    const twoAmShanghai = scheduleOf({ cron: "0 0 2 * * *", timezone: "Asia/Shanghai" });
    expect(twoAmShanghai.nextAfter(t("2026-01-01T00:00:00Z"))).toBe(t("2026-01-01T18:00:00Z"));
  });

  it("fixed rate is aligned to the epoch, so every replica computes the same instants", () => {
    const rate = scheduleOf({ everyMs: 1500 });
    expect(rate.nextAfter(0)).toBe(1500);
    expect(rate.nextAfter(1500)).toBe(3000);
    expect(rate.nextAfter(2999)).toBe(3000);
  });

  it("cronProblem is undefined for good expressions", () => {
    expect(cronProblem("0 30 2 * * MON-FRI")).toBeUndefined();
    expect(cronProblem("*/10 * * * * *", "Europe/Berlin")).toBeUndefined();
  });

  it("splits fires due since the cursor into late and on-time by the misfire threshold", () => {
    const rate = scheduleOf({ everyMs: 1000 });
    const due = dueFires(rate, 0, 10_500, 3000);
    expect(due.late).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000]);
    expect(due.onTime).toEqual([8000, 9000, 10000]);
    expect(due.lateBeyondCap).toBe(0);
  });

  it("after a very long outage keeps only the newest late fires but counts all of them", () => {
    const rate = scheduleOf({ everyMs: 1000 });
    const due = dueFires(rate, 0, 100_000_000, 5000, 10);
    expect(due.late).toHaveLength(10);
    // Exactly threshold-old still counts as on time.
    expect(due.late.at(-1)).toBe(99_994_000);
    expect(due.late.length + due.lateBeyondCap + due.onTime.length).toBeGreaterThan(99_990);
    expect(due.late.length + due.lateBeyondCap + due.onTime.length).toBeLessThanOrEqual(100_000);
    expect(due.onTime).toEqual([99_995_000, 99_996_000, 99_997_000, 99_998_000, 99_999_000, 100_000_000]);
  });
});
