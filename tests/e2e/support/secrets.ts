import { Stack } from "@pulumi/pulumi/automation";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * Every generated password (and its bcrypt hash) of a stack, in plain text: the Automation API's export
 * decrypts secrets (`plaintext`), so the tests know exactly what must never appear anywhere else.
 */
export async function generatedSecrets(stack: Stack): Promise<string[]> {
  const state = await stack.exportStack();
  const values: string[] = [];
  for (const r of state.deployment.resources ?? []) {
    if (r.type !== "random:index/randomPassword:RandomPassword") continue;
    for (const key of ["result", "bcryptHash"]) {
      const out = r.outputs?.[key];
      if (!out || out[SECRET_SIG] === undefined) throw new Error(`${r.urn}: output ${key} is not stored as a secret`);
      values.push(out.plaintext !== undefined ? JSON.parse(out.plaintext) : out.value);
    }
  }
  return values;
}
