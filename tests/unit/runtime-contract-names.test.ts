// The env variable names the platform gives the runtime's daemons and libraries are defined once, in the
// runtime's contracts (@classroom-platform/runtime/contracts); infra/ and components/ use those constants.
// A name spelled out as a string literal is a second definition: a rename in the runtime would leave the
// pods with a variable nobody reads, and nothing would fail.
import * as fs from "node:fs";
import * as path from "node:path";
import * as contracts from "../../runtime/contracts";

const ROOT = path.resolve(__dirname, "../..");

const names = new Set(
  Object.entries(contracts)
    .filter(([key]) => key.endsWith("_ENV"))
    .flatMap(([, value]) => Object.values(value as Record<string, string>))
    // POD_NAME and POD_IP are Kubernetes' downward-API names, set by every workload (Kafka's too).
    .filter((name) => name.startsWith("CLASSROOM_")),
);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith(".ts") ? [full] : [];
  });
}

test("the contracts define the names this test looks for", () => {
  expect([...names]).toEqual(expect.arrayContaining(["CLASSROOM_LOG_FILE", "CLASSROOM_LOG_DIR", "CLASSROOM_REGISTRY_CONNECT", "CLASSROOM_REDIS_URL"]));
});

test.each([...sources(path.join(ROOT, "infra")), ...sources(path.join(ROOT, "components"))].map((f) => [path.relative(ROOT, f), f]))(
  "%s spells no runtime env name as a string literal",
  (_name, file) => {
    const literals = [...fs.readFileSync(file, "utf8").matchAll(/(["'`])(CLASSROOM_[A-Z0-9_]+)\1/g)].map((m) => m[2]);
    expect(literals.filter((l) => names.has(l))).toEqual([]);
  },
);
