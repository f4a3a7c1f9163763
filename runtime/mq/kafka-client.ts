import type * as PlatformaticKafka from "@platformatic/kafka";
import Module = require("node:module");

let loaded: typeof PlatformaticKafka | undefined;

/**
 * @platformatic/kafka, loaded through Node's own module loader. The package is ESM-only; Node >= 22.12
 * can `require()` it, but jest's CommonJS sandbox cannot, and this repository compiles to CommonJS.
 * `Module._load` is Node's real loader in every environment, so the daemon, tsx and jest all get the
 * same module; the public `Module.createRequire` refuses the package inside jest. This is the one place
 * that relies on the private loader, and tests/unit/library-internals.test.ts fails if Node drops it.
 */
export function kafkaClient(): typeof PlatformaticKafka {
  loaded ??= (Module as unknown as { _load(request: string, parent: null, isMain: boolean): typeof PlatformaticKafka })._load(
    require.resolve("@platformatic/kafka"),
    null,
    false,
  );
  return loaded;
}
