// Transpile-only (swc) so the suite stays fast; `npm run build` (tsc --noEmit) does the type checking.
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] };
// "classroom-source" resolves the workspace package @classroom-platform/runtime to its sources (.npmrc).
const common = {
  transform,
  testEnvironment: "node",
  testEnvironmentOptions: { customExportConditions: ["node", "node-addons", "classroom-source"] },
  moduleFileExtensions: ["ts", "js", "json"],
};

module.exports = {
  // testTimeout is a global option (ignored inside projects): the integration and e2e files that need
  // longer hooks call jest.setTimeout themselves.
  testTimeout: 120000,
  reporters: ["default", "<rootDir>/tests/summary-reporter.js"],
  projects: [
    // Pure logic and Pulumi programs under mocks: no servers, seconds.
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/{unit,stacks,policies,tools}/**/*.test.ts"] },
    // The CLIs as a user runs them (spawned processes): misuse cases, exit codes, files left untouched.
    { ...common, displayName: "cli", testMatch: ["<rootDir>/tests/cli/**/*.test.ts"] },
    // Real ZooKeeper, Redis and Kafka started by tests/harness on loopback ports.
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"] },
    // Real kube-apiserver and the real Pulumi engine; needs tools built by tools/toolchain.
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"] },
  ],
};
