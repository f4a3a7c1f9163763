import { retryDelayMs, runAttempts } from "../../runtime/scheduler/strategies";
import { routeOrder } from "../../runtime/scheduler/routing";

const never = new AbortController().signal;

describe("scheduler attempt policy: timeout and retry with backoff", () => {
  it("backoff doubles per retry and is capped at 60 s", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 250))).toEqual([250, 500, 1000, 2000]);
    expect(retryDelayMs(20, 1000)).toBe(60_000);
  });

  it("retries a failing attempt until it succeeds, waiting the backoff in between", async () => {
    const starts: number[] = [];
    const result = await runAttempts({ timeoutMs: 1000, retries: 3, retryBackoffMs: 40 }, never, async (n) => {
      starts.push(Date.now());
      if (n < 3) throw new Error(`boom ${n}`);
      return "ok-endpoint";
    });
    expect(result).toEqual({ outcome: "succeeded", attempts: 3, detail: "ok-endpoint" });
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(38);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(78);
  });

  it("reports the last failure once retries run out", async () => {
    const result = await runAttempts({ timeoutMs: 1000, retries: 1, retryBackoffMs: 1 }, never, async (n) => {
      throw new Error(`boom ${n}`);
    });
    expect(result).toMatchObject({ outcome: "failed", attempts: 2, error: "boom 2" });
  });

  it("times out an attempt even if the handler ignores its signal, and aborts the signal", async () => {
    let seen: AbortSignal | undefined;
    const started = Date.now();
    const result = await runAttempts({ timeoutMs: 50, retries: 0, retryBackoffMs: 0 }, never, async (_n, signal) => {
      seen = signal;
      await new Promise((r) => setTimeout(r, 600));
    });
    expect(result).toMatchObject({ outcome: "timed-out", attempts: 1, error: "timed out after 50 ms" });
    expect(seen!.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("does not retry a run that was cancelled (covered or fenced)", async () => {
    const run = new AbortController();
    let attempts = 0;
    const result = runAttempts({ timeoutMs: 5000, retries: 5, retryBackoffMs: 10 }, run.signal, async (_n, signal) => {
      attempts++;
      await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    });
    setTimeout(() => run.abort(new Error("covered by a later fire")), 30);
    expect(await result).toMatchObject({ outcome: "cancelled", attempts: 1, error: "covered by a later fire" });
    expect(attempts).toBe(1);
  });

  it("a retry is vetoed when the run no longer owns the job", async () => {
    const result = await runAttempts(
      { timeoutMs: 1000, retries: 3, retryBackoffMs: 1 },
      never,
      async () => {
        throw new Error("boom");
      },
      async () => false,
    );
    expect(result.outcome).toBe("cancelled");
    expect(result.attempts).toBe(1);
  });
});

describe("scheduler HTTP routing order", () => {
  const endpoints = ["http://a", "http://b", "http://c"];
  it("first always picks the first endpoint; failover tries all in order", () => {
    expect(routeOrder("first", endpoints, 7)).toEqual(["http://a"]);
    expect(routeOrder("failover", endpoints, 7)).toEqual(endpoints);
  });
  it("round-robin cycles with the per-job counter", () => {
    expect([0, 1, 2, 3].map((i) => routeOrder("round-robin", endpoints, i)[0])).toEqual(["http://a", "http://b", "http://c", "http://a"]);
  });
  it("random picks by the random source", () => {
    expect(routeOrder("random", endpoints, 0, () => 0.99)).toEqual(["http://c"]);
    expect(routeOrder("random", endpoints, 0, () => 0)).toEqual(["http://a"]);
  });
  it("no endpoints means no candidates", () => {
    expect(routeOrder("failover", [], 0)).toEqual([]);
  });
});
