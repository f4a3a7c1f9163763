// Validates Kubernetes objects against the OpenAPI schemas bundled by kubernetes-models (Kubernetes 1.34)
// and @kubernetes-models/gateway-api. Those packages are ES modules only, so validation runs in this small
// ESM process: objects arrive as a JSON array on stdin, results leave as a JSON array on stdout.
import { readFileSync } from "node:fs";

const PACKAGES = [
  { groups: /^gateway\.networking\.k8s\.io$/, module: (g, v, k) => `@kubernetes-models/gateway-api/${g}/${v}/${k}` },
  { groups: /.*/, module: (g, v, k) => `kubernetes-models/${g ? `${g}/` : ""}${v}/${k}` },
];

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = PACKAGES.find((p) => p.groups.test(group));
  try {
    const mod = await import(pkg.module(group, version, kind));
    return mod[kind];
  } catch {
    return undefined;
  }
}

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const [index, object] of objects.entries()) {
  const Model = await modelFor(String(object.apiVersion ?? ""), String(object.kind ?? ""));
  if (!Model) {
    results.push({ index, errors: [`no schema for ${object.apiVersion} ${object.kind} in the bundled Kubernetes 1.34 or Gateway API schemas`] });
    continue;
  }
  try {
    new Model(object).validate();
  } catch (err) {
    const details = Array.isArray(err.errors)
      ? err.errors.map((e) => `${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : ""}`)
      : [String(err.message ?? err)];
    results.push({ index, errors: details });
  }
}
process.stdout.write(JSON.stringify(results));
