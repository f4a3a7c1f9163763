import * as pulumi from "@pulumi/pulumi";
import { parsePlatformConfig, PlatformConfig } from "../../infra/config";
import { synthesize, SynthResult } from "../../tools/synth";

const cache = new Map<string, Promise<SynthResult>>();

/** Renders a stack (with optional config overrides) under Pulumi's mocks, once per test file. */
export function renderStack(stack: string, overrides: Record<string, unknown> = {}): Promise<SynthResult> {
  const key = `${stack}:${JSON.stringify(overrides)}`;
  if (!cache.has(key)) {
    const encoded = Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    // Renders share the SDK's global state, so they run one after another.
    const previous = [...cache.values()].pop() ?? Promise.resolve();
    cache.set(
      key,
      previous.catch(() => undefined).then(() => synthesize({ stack, overrides: encoded })),
    );
  }
  return cache.get(key)!;
}

/**
 * Renders one part of the platform (a component, a layer) from a stack's parsed config, once per test
 * file: far fewer resources than the whole stack, and the same objects the stack would declare for it.
 */
export function renderPart(stack: string, part: string, declare: (config: PlatformConfig) => unknown): Promise<SynthResult> {
  const key = `${stack}:part:${part}`;
  if (!cache.has(key)) {
    const previous = [...cache.values()].pop() ?? Promise.resolve();
    cache.set(
      key,
      previous.catch(() => undefined).then(() => synthesize({ stack, program: () => declare(parsePlatformConfig(pulumi.runtime.allConfig())) })),
    );
  }
  return cache.get(key)!;
}

export type K8sObject = Record<string, any>;

export function objectsOf(result: SynthResult, kind: string): K8sObject[] {
  return result.objects.map((o) => o.object).filter((o) => o.kind === kind);
}

export function findObject(result: SynthResult, kind: string, name: string): K8sObject {
  const found = objectsOf(result, kind).find((o) => o.metadata?.name === name);
  if (!found)
    throw new Error(
      `no ${kind} named ${name}; have: ${objectsOf(result, kind)
        .map((o) => o.metadata?.name)
        .join(", ")}`,
    );
  return found;
}

/** Whether a label selector (matchLabels only, as the platform writes them) selects these labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
