/**
 * Reads a Prometheus text exposition (what `/metrics` answers) into samples, for assertions on real
 * daemons' metrics. Only the subset prom-client writes: `name{k="v",...} value` lines and comments.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Fetches and parses `http://127.0.0.1:<port>/metrics`; fails on anything but a 200. */
export async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${body}`);
  return parseExposition(body);
}

/** The samples of one metric whose labels include `match`. */
export function select(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the values of one metric whose labels include `match` (0 when there are none). */
export function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return select(samples, name, match).reduce((sum, s) => sum + s.value, 0);
}
