import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Files the API server needs for authentication, all inside the control plane's folder. */
export interface ControlPlanePki {
  /** Static token file: one admin user in group system:masters. */
  tokenFile: string;
  token: string;
  /** RSA key pair that signs and verifies service-account tokens. */
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** Folder where kube-apiserver writes its self-signed serving certificate (`--cert-dir`). */
  certDir: string;
}

export function createPki(dir: string): ControlPlanePki {
  const pki = path.join(dir, "pki");
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  const serviceAccountKey = path.join(pki, "sa.key");
  const serviceAccountPub = path.join(pki, "sa.pub");
  try {
    execFileSync("openssl", ["genrsa", "-out", serviceAccountKey, "2048"], { stdio: "pipe", timeout: 60_000 });
    execFileSync("openssl", ["rsa", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub], { stdio: "pipe", timeout: 60_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    throw new Error(`openssl could not create the service-account keys: ${stderr}`, { cause: err });
  }
  const token = randomBytes(24).toString("hex");
  const tokenFile = path.join(pki, "tokens.csv");
  fs.writeFileSync(tokenFile, `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
  return { tokenFile, token, serviceAccountKey, serviceAccountPub, certDir: pki };
}

/** The serving certificate kube-apiserver generated (`--cert-dir`): it is its own CA bundle. */
export function servingCertificate(pki: ControlPlanePki): string {
  return path.join(pki.certDir, "apiserver.crt");
}
