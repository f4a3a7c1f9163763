import * as pulumi from "@pulumi/pulumi";
import { parsePlatformConfig } from "../../../infra/config";
import { imagePullSecret } from "../../../infra/services";
import { mandatoryViolations } from "../../../policies/evaluate";
import { synthesize } from "../../../tools/synth";

// Renders only the pull secret, from the prod stack's config with a registry credential set as a secret.
function renderPullSecret() {
  return synthesize({
    stack: "prod",
    overrides: { "classroom:imagePullSecret": '{"auths":{}}' },
    program: () => imagePullSecret(parsePlatformConfig(pulumi.runtime.allConfig(), ["classroom:imagePullSecret"]), {}),
  });
}

describe("image pull secret", () => {
  it("carries the recommended labels, so a prod stack that sets imagePullSecret passes its own mandatory policies", async () => {
    const result = await renderPullSecret();
    const secret = result.objects.map((o) => o.object).find((o) => o.kind === "Secret");
    expect(secret?.metadata).toMatchObject({
      name: "image-pull",
      namespace: "classroom-prod-apps",
      labels: {
        "app.kubernetes.io/name": "image-pull",
        "app.kubernetes.io/instance": "classroom-prod-apps-image-pull",
        "app.kubernetes.io/part-of": "classroom-platform",
        "app.kubernetes.io/managed-by": "pulumi",
      },
    });
    expect(secret?.type).toBe("kubernetes.io/dockerconfigjson");
    expect(mandatoryViolations(result.violations)).toEqual([]);
  });
});
