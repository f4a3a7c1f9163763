// Credentials belong in Secrets (encrypted in Pulumi state, RBAC-guarded in the cluster), never in env
// literals, container arguments or ConfigMaps, which anyone who can read the workload can read.
import { resourceRule } from "./define";
import { asArray, asObject, asString, isUnknown } from "./k8s";
import { containers, POD_KINDS } from "./workloads";

const SECRET_WORDS = /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY|REQUIREPASS|MASTERAUTH|AUTH_?PASS)/;
/** Names that mention a secret but hold something else: where it is, how it is named, how long it lives. */
const NOT_A_SECRET =
  /_(FILE|PATH|DIR|NAME|REF|URL|URI|ENDPOINT|HOST|PORT|TTL|TIMEOUT|EXPIRY|EXPIRES|LENGTH|ENABLED|HEADER|MS|SECONDS|TYPE|MODE|LOCATION|KEY_ID|ID|MECHANISM)$/;

/** Whether a variable, file or config key name says it holds a credential. */
export function looksLikeSecretName(name: string): boolean {
  const n = name.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
  // PASS and PWD as whole words (DB_PASS, MYSQL_PWD); the shell's PWD alone is the working directory.
  const shortWord = /(^|_)(PASS|PWD)(_|$)/.test(n) && n !== "PWD";
  return (SECRET_WORDS.test(n) || shortWord) && !NOT_A_SECRET.test(n);
}

/** Values that point at a secret instead of being one: empty, $(VAR)/${VAR} expansions, file paths. */
function isReference(value: string): boolean {
  const v = value
    .trim()
    .replace(/^["']|["']$/g, "")
    .trim();
  return v === "" || v.startsWith("$") || v.startsWith("%(") || v.startsWith("/") || v.startsWith("file:") || /^<.*>$/.test(v);
}

const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:([^\s@/]+)@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Secrets a free-text value reveals whatever its name: credentials in URLs, private keys. */
function secretInText(value: string): string | undefined {
  const url = CREDENTIAL_URL.exec(value);
  if (url && !isReference(url[1])) return "a URL with an embedded password";
  if (PRIVATE_KEY.test(value)) return "a private key";
  return undefined;
}

export const noSecretEnvLiterals = resourceRule({
  name: "no-secret-env-literals",
  description: "Containers must not carry credentials as literal env values or arguments; use valueFrom.secretKeyRef or mounted Secret files.",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      for (const e of asArray(c.spec.env)) {
        const env = asObject(e);
        const name = asString(env?.name);
        const value = asString(env?.value);
        if (!name || value === undefined) continue;
        if (looksLikeSecretName(name) && !isReference(value) && !/^(true|false)$/i.test(value)) {
          report(`${c.label} sets env ${name} to a literal value; take it from a Secret (valueFrom.secretKeyRef)`);
          continue;
        }
        const found = secretInText(value);
        if (found) {
          report(`${c.label} sets env ${name} to ${found}; take it from a Secret`);
          continue;
        }
        // Config passed whole through env (JAAS lines, key=value lists) can carry a password too.
        const assigned = secretAssignments(value);
        if (assigned.length)
          report(`${c.label} sets env ${name} to text that assigns credentials (${[...new Set(assigned)].join(", ")}); take them from a Secret`);
      }
      for (const field of ["command", "args"]) {
        for (const a of asArray(c.spec[field])) {
          const arg = asString(a);
          if (arg === undefined) continue;
          const flag = /--?([A-Za-z0-9_.-]+)[= ](\S+)/.exec(arg);
          const found = secretInText(arg) ?? (flag && looksLikeSecretName(flag[1]) && !isReference(flag[2]) ? `a literal --${flag[1]}` : undefined);
          if (found) report(`${c.label} passes ${found} in ${field}; read it from a mounted Secret or a secret env var`);
        }
      }
    }
  },
});

/** Lines of a config file that assign a credential a literal value, with the key that gives it away. */
export function secretAssignments(text: string): string[] {
  const found: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    // Shell env files: `export DB_PASSWORD=...` assigns DB_PASSWORD.
    const line = rawLine.trim().replace(/^(export|set|setenv)\s+/i, "");
    if (!line || /^(#|;|!|\/\/|--)/.test(line)) continue;
    const sentinel = /^sentinel\s+auth-pass\s+\S+\s+(\S+)/i.exec(line);
    if (sentinel && !isReference(sentinel[1])) {
      found.push("sentinel auth-pass");
      continue;
    }
    const acl = /^user\s+\S+.*\s>(\S+)/i.exec(line);
    if (acl && !isReference(acl[1])) {
      found.push("an ACL user password (>...)");
      continue;
    }
    const sql = /IDENTIFIED\s+(?:WITH\s+\S+\s+)?BY\s+'([^']*)'/i.exec(line);
    if (sql && !isReference(sql[1])) {
      found.push("IDENTIFIED BY '...'");
      continue;
    }
    const jaas = /\bpassword\s*=\s*"([^"]*)"/i.exec(line);
    if (jaas && !isReference(jaas[1])) {
      found.push('password="..."');
      continue;
    }
    const xml = /\bname\s*=\s*"([^"]+)"\s+value\s*=\s*"([^"]*)"/i.exec(line) ?? /<([A-Za-z0-9_.-]+)>([^<]*)<\/\1>/.exec(line);
    if (xml && looksLikeSecretName(xml[1]) && !isReference(xml[2])) {
      found.push(xml[1]);
      continue;
    }
    const assign = /^"?([A-Za-z0-9_.-]+)"?\s*(?:=|:|\s)\s*(.*?)\s*,?$/.exec(line);
    if (assign && looksLikeSecretName(assign[1]) && !isReference(assign[2]) && !/^[{[|>]$/.test(assign[2])) {
      found.push(assign[1]);
      continue;
    }
    const text = secretInText(line);
    if (text) found.push(text);
  }
  return found;
}

export const noSecretsInConfigMaps = resourceRule({
  name: "no-secrets-in-configmaps",
  description: "ConfigMaps must not hold credentials: no keys named like passwords or tokens, no config lines that assign them literal values.",
  enforcementLevel: "mandatory",
  kinds: ["ConfigMap"],
  check(obj, _config, report) {
    for (const field of ["data", "binaryData"]) {
      const data = obj.raw[field];
      if (isUnknown(data)) continue;
      for (const [key, value] of Object.entries(asObject(data) ?? {})) {
        if (looksLikeSecretName(key.replace(/\.[a-z]+$/i, ""))) {
          report(`${field} key '${key}' looks like a credential; put it in a Secret`);
          continue;
        }
        const text = field === "data" ? asString(value) : undefined;
        if (text === undefined) continue;
        const hits = secretAssignments(text);
        if (hits.length) report(`${field} key '${key}' assigns credentials in plain text (${[...new Set(hits)].join(", ")}); mount them from a Secret`);
      }
    }
  },
});

export const secretRules = [noSecretEnvLiterals, noSecretsInConfigMaps];
