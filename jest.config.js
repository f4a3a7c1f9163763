// Transpile-only (swc) so the suite stays fast; `npm run build` (tsc --noEmit) does the type checking.
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] };
// "classroom-source" resolves the workspace package @classroom-platform/runtime to its sources (.npmrc).
const common = {
  transform,
  testEnvironment: "node",
  testEnvironmentOptions: { customExportConditions: ["node", "node-addons", "classroom-source"] },
  moduleFileExtensions: ["ts", "js", "json"],
};
// Suites that render whole stacks, or spawn a process, but live beside the code they test.
const WHOLE_STACK_SUITES = ["<rootDir>/tests/policies/stacks.test.ts", "<rootDir>/tests/tools/release.test.ts", "<rootDir>/tests/tools/upgrade-safety.test.ts"];
const SPAWNING_SUITES = ["<rootDir>/tests/policies/crossguard.test.ts"];

module.exports = {
  // testTimeout is a global option (ignored inside projects): the integration and e2e files that need
  // longer hooks call jest.setTimeout themselves.
  testTimeout: 120000,
  reporters: ["default", "<rootDir>/tests/summary-reporter.js"],
  projects: [
    // Pure logic, rules and single components under mocks: no servers, no spawned processes, seconds.
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/tests/{unit,policies,tools}/**/*.test.ts"],
      testPathIgnorePatterns: [...WHOLE_STACK_SUITES, ...SPAWNING_SUITES],
    },
    // Whole stacks rendered under mocks (several seconds per render): every stack, policies over them, release plans.
    { ...common, displayName: "stacks", testMatch: ["<rootDir>/tests/stacks/**/*.test.ts", ...WHOLE_STACK_SUITES] },
    // The CLIs as a user runs them (spawned processes): misuse cases, exit codes, files left untouched;
    // the policy pack under Pulumi's own runner; tools the provision scripts install (actionlint).
    { ...common, displayName: "cli", testMatch: ["<rootDir>/tests/cli/**/*.test.ts", ...SPAWNING_SUITES] },
    // Real ZooKeeper, Redis and Kafka started by tests/harness on loopback ports.
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"] },
    // Real kube-apiserver and the real Pulumi engine; needs tools built by tools/toolchain.
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"] },
  ],
};
