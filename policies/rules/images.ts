// Images: a tag says which release runs, a digest says which bytes run (tags can be re-pushed).
import { resourceRule } from "./define";
import { asString, at, stringMap } from "./k8s";
import { containers, POD_KINDS, podTemplate } from "./workloads";

export interface ImageRef {
  /** Registry host when the reference names one ("" for Docker Hub short names). */
  registry: string;
  /** Repository path without registry, tag or digest ("library/" is not added). */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits an image reference the way container runtimes do (a registry is a first segment with "." or ":" or "localhost"). */
export function parseImage(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let registry = "";
  const first = rest.split("/")[0];
  if (rest.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    rest = rest.slice(first.length + 1);
  }
  return { registry, repository: rest, tag, digest };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Set by the platform on the pod template of its own daemons (infra/daemons.ts) when the stack pins
 * `classroom:runtimeImage`; the value is the pinned reference. A policy cannot see stack config, so the
 * platform states on the pods which image is its runtime image.
 */
export const RUNTIME_IMAGE_ANNOTATION = "classroom.io/runtime-image";

/** A container's image problem against a digest requirement, or undefined when it is pinned by sha256 digest. */
function digestProblem(image: string): "missing" | "malformed" | undefined {
  const digest = parseImage(image).digest;
  return digest === undefined ? "missing" : DIGEST.test(digest) ? undefined : "malformed";
}

export const imageTagPinned = resourceRule({
  name: "image-tag-pinned",
  description: "Every image must name a fixed release: a tag other than latest, or a digest; untagged images mean latest.",
  enforcementLevel: "mandatory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      const image = asString(c.spec.image);
      if (image === undefined) continue;
      const ref = parseImage(image);
      if (ref.digest !== undefined) continue;
      if (ref.tag === undefined || ref.tag === "") report(`${c.label} uses image '${image}' without a tag (that means latest); pin a release tag or digest`);
      else if (ref.tag.toLowerCase() === "latest") report(`${c.label} uses image '${image}' with the mutable tag latest; pin a release tag or digest`);
    }
  },
});

export const imageDigestRequired = resourceRule({
  name: "image-digest-required",
  description:
    "Every image must be pinned by sha256 digest (tag@sha256:...), so what runs is exactly what was reviewed; enforced where config enables it (prod).",
  enforcementLevel: "advisory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    for (const c of containers(obj)) {
      const image = asString(c.spec.image);
      if (image === undefined) continue;
      const problem = digestProblem(image);
      if (problem === "missing") report(`${c.label} uses image '${image}' without a digest; pin it as <image>:<tag>@sha256:<digest>`);
      else if (problem === "malformed") report(`${c.label} uses image '${image}' whose digest is not sha256:<64 hex digits>`);
    }
  },
});

/** Registry and repository: what names an image whatever its tag or digest. */
const imageName = (ref: ImageRef) => `${ref.registry ? `${ref.registry}/` : ""}${ref.repository}`;

export const runtimeImageDigestRequired = resourceRule({
  name: "runtime-image-digest-required",
  description: `The platform's own daemons must run the runtime image pinned by sha256 digest (as npm run release:runtime-image writes it); checked on pods annotated ${RUNTIME_IMAGE_ANNOTATION}, which the platform sets when the stack pins classroom:runtimeImage.`,
  enforcementLevel: "advisory",
  kinds: POD_KINDS,
  check(obj, _config, report) {
    const pinned = stringMap(at(podTemplate(obj), "metadata", "annotations"))[RUNTIME_IMAGE_ANNOTATION];
    if (pinned === undefined) return;
    const name = imageName(parseImage(pinned));
    const running = containers(obj).filter((c) => {
      const image = asString(c.spec.image);
      return image !== undefined && imageName(parseImage(image)) === name;
    });
    if (running.length === 0) report(`the pods are annotated ${RUNTIME_IMAGE_ANNOTATION}: '${pinned}' but no container runs ${name}`);
    for (const c of running) {
      const image = asString(c.spec.image)!;
      const problem = digestProblem(image);
      if (problem === "missing") {
        report(
          `${c.label} runs the platform's runtime image '${image}' without a digest; pin it with npm run release:runtime-image -- <stack> <image>:<tag>@sha256:<digest>`,
        );
      } else if (problem === "malformed") report(`${c.label} runs the platform's runtime image '${image}' whose digest is not sha256:<64 hex digits>`);
    }
  },
});

export const imageRules = [imageTagPinned, imageDigestRequired, runtimeImageDigestRequired];
