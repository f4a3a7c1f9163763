import { EngineEvent } from "@pulumi/pulumi/automation";
import { EngineProject } from "../../../tools/engine/automation";

// Child-process entry of previewInChild: one `preview` of a stack of an existing temporary project,
// reported as JSON. A preview the engine aborts leaves the inline program's pending registrations to
// reject after the engine is gone ("Resource monitor is terminating"); in a child process that noise
// ends with the process instead of failing the test file that asked for the preview.

async function main(): Promise<string> {
  const [workDir, stackName, envJson] = process.argv.slice(2);
  const project = await EngineProject.open(workDir, { env: JSON.parse(envJson) as Record<string, string> });
  const stack = await project.stack(stackName);
  const events: EngineEvent[] = [];
  try {
    const result = await stack.preview({ onEvent: (e) => events.push(e) });
    return JSON.stringify({ ok: true, changeSummary: result.changeSummary, events });
  } catch (err) {
    return JSON.stringify({ ok: false, error: (err as Error).message, events });
  }
}

process.on("unhandledRejection", () => undefined);
main().then(
  (json) => process.stdout.write(json, () => process.exit(0)),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
