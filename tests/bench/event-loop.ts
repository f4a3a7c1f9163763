import { IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";

/**
 * How late this process's event loop ran (Node's sampled timer delay, 10 ms resolution): a process whose
 * loop stalls delays every reply and watch event it handles by that much, so the benches print it per
 * process to show where a latency tail comes from.
 */
export class EventLoopProbe {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  reset(): void {
    this.histogram.reset();
  }

  /** Delay percentiles in ms over the samples since the last reset. */
  summary(): { p50Ms: number; p99Ms: number; maxMs: number; samples: number } {
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    const h = this.histogram;
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), samples: h.count };
  }
}
