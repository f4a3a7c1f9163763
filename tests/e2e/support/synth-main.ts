import { synthesize } from "../../../tools/synth";

// Child-process entry of renderInChild: prints one stack's synth (under Pulumi's mocks) as JSON.
// It runs apart from the test process because mocks and the Automation API's inline program would
// share the SDK's global runtime state there.

async function main(): Promise<string> {
  const [stack, stackFile] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  const result = await synthesize({ stack, stackFile });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return JSON.stringify({
    objects: result.objects,
    resources: result.resources,
    identities: result.identities,
    schemaProblems: result.schemaProblems,
    seconds,
  });
}

// Exit only once the pipe has taken all of it: an exit right after write() truncates large output.
main().then(
  (json) => process.stdout.write(json, () => process.exit(0)),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
