import { planStep, ReleaseStep } from "./actions";
import { checkStackFile, RenderCache, ReleaseDiff, releaseDiff } from "./diff";
import { replaceFileText } from "./replace-file";
import { DEFAULT_STACKS_DIR, StackFile, stackFilePath } from "./stack-file";

export { DEFAULT_STACKS_DIR };

export interface ReleaseRequest {
  /** Stack name (`<stacksDir>/Pulumi.<stack>.yaml`). */
  stack: string;
  /** Service name under `classroom:services`. */
  service: string;
  step: ReleaseStep;
  /** Folder holding the stack files. Default: the project's stacks/. */
  stacksDir?: string;
  /** The stack file itself, instead of `<stacksDir>/Pulumi.<stack>.yaml`. Default: none. */
  stackFile?: string;
  /** Upgrade-safety baseline file. Default: the stack file before the edit. */
  baselineFile?: string;
  /** Upgrade-safety baseline as a git ref of the project. Default: none. */
  baselineRef?: string;
  /** Timestamp recorded by promote. Default: now. */
  now?: Date;
  /** Reuse renders across steps. Default: none. */
  cache?: RenderCache;
  /** Called with the step's summary once the edit is planned, before the seconds of rendering. */
  onStepPlanned?: (summary: string) => void;
}

export interface ReleasePlan extends ReleaseDiff {
  /** The stack file the step edits. */
  file: string;
  /** Its text now and after the step. */
  currentText: string;
  editedText: string;
  /** One line saying what the step does. */
  summary: string;
}

/**
 * Everything a release step does short of writing: edit the stack file's text, validate it, render
 * before and after, diff, and look for upgrade hazards. Throws ReleaseError or ConfigError (one line per
 * problem) for a request that does not apply; the stack file is never touched here.
 */
export async function planRelease(request: ReleaseRequest): Promise<ReleasePlan> {
  const file = request.stackFile ?? stackFilePath(request.stacksDir ?? DEFAULT_STACKS_DIR, request.stack);
  const stackFile = new StackFile(file);
  const entries = stackFile.service(request.service);
  checkStackFile(request.stack, file);
  const { patch, summary } = planStep(request.service, entries, request.step, request.now);
  const editedText = stackFile.withServicePatch(request.service, patch);
  request.onStepPlanned?.(summary);
  const rendered = await releaseDiff({
    stack: request.stack,
    currentFile: file,
    editedText,
    baselineFile: request.baselineFile,
    baselineRef: request.baselineRef,
    cache: request.cache,
  });
  return { ...rendered, file, currentText: stackFile.text, editedText, summary };
}

/**
 * Writes the planned text with the file's mode, owner and symlinks kept (see replace-file), unless the
 * file changed since it was planned: another edit in between would otherwise be overwritten silently.
 */
export function writeRelease(plan: ReleasePlan): void {
  replaceFileText(plan.file, plan.currentText, plan.editedText);
}
