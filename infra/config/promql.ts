import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GOLDEN_SIGNAL_RECORDS } from "../../components/monitoring/rules";

/**
 * Placeholders an analysis query may use. `release ... run` replaces them before every query:
 * `$service` the service name, `$track` the track being measured (`canary`, then `stable`), `$window`
 * the analysis window (`rollout.analysis.window`, a PromQL duration such as `2m`). `${service}` works too.
 */
export const QUERY_PLACEHOLDERS = ["service", "track", "window"] as const;
export type QueryVars = Record<(typeof QUERY_PLACEHOLDERS)[number], string>;

/** The query with every `$name` / `${name}` placeholder replaced; an unknown placeholder is left as written (and then fails to parse). */
export function renderQuery(template: string, vars: QueryVars): string {
  return template.replace(/\$\{?([a-z]+)\}?/g, (whole, name: string) => (name in vars ? vars[name as keyof QueryVars] : whole));
}

/** Placeholders the template uses that `renderQuery` does not know. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(/\$\{?([A-Za-z_]+)\}?/g)].map((m) => m[1]).filter((n) => !(QUERY_PLACEHOLDERS as readonly string[]).includes(n));
}

/** Metric names analysis checks may use: the services' HTTP server histogram and the golden-signal recording rules built from it. */
export const ANALYSIS_METRICS = [
  "http_server_request_duration_seconds_bucket",
  "http_server_request_duration_seconds_sum",
  "http_server_request_duration_seconds_count",
  ...GOLDEN_SIGNAL_RECORDS,
] as const;

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "inf",
  "nan",
  "atan2",
  "start",
  "end",
]);

/**
 * Metric names a query selects. Only meaningful for a query promtool accepted: strings, label matchers,
 * grouping clauses, ranges and function names are removed, and what remains as a bare identifier is a
 * metric name (PromQL has no other bare identifiers).
 */
export function metricNames(query: string): string[] {
  const text = query
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(/g, "(");
  const names = [...text.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)/g)].map((m) => m[1]).filter((w) => !KEYWORDS.has(w.toLowerCase()) && !/^\d/.test(w));
  return [...new Set(names)];
}

/** Where promtool is looked for: PROMTOOL, else PATH (Debian's package installs /usr/bin/promtool). */
function promtoolPath(): string | undefined {
  if (process.env.PROMTOOL) return process.env.PROMTOOL;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "promtool");
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

const verdicts = new Map<string, string | undefined>();

/**
 * For each expression, undefined when it parses as PromQL, else promtool's one-line reason. The
 * expressions are checked as recording rules of one temporary file in a single promtool run (promtool
 * has no command that parses a bare expression); results are cached, since the config is parsed often.
 * Throws when promtool is missing: a query then cannot be checked at all.
 */
export function promqlProblems(expressions: string[]): Array<string | undefined> {
  const todo = [...new Set(expressions.filter((e) => !verdicts.has(e)))];
  if (todo.length > 0) {
    const tool = promtoolPath();
    if (!tool) throw new Error("promtool is not on PATH (Debian package prometheus, see tools/provision/10-debian.sh), so analysis queries cannot be checked");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-promql-"));
    try {
      const file = path.join(dir, "rules.yml");
      const rules = todo.map((e, i) => `      - record: q${i}\n        expr: ${JSON.stringify(e)}`).join("\n");
      fs.writeFileSync(file, `groups:\n  - name: analysis\n    rules:\n${rules}\n`);
      const run = spawnSync(tool, ["check", "rules", file], { encoding: "utf8" });
      if (run.error) throw new Error(`promtool could not run: ${run.error.message}`);
      const output = `${run.stdout}\n${run.stderr}`;
      const failed = new Map<number, string>();
      for (const m of output.matchAll(/rule (\d+), "q\d+": (.*)/g)) failed.set(Number(m[1]) - 1, m[2].trim());
      if (run.status !== 0 && failed.size === 0) throw new Error(`promtool check rules failed without naming a rule: ${output.trim().split("\n").pop()}`);
      todo.forEach((e, i) => verdicts.set(e, failed.get(i)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return expressions.map((e) => verdicts.get(e));
}
