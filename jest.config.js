// Transpile-only (swc) so the suite stays fast; `npm run build` (tsc --noEmit) does the type checking.
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] };
const common = { transform, testEnvironment: "node", moduleFileExtensions: ["ts", "js", "json"] };

module.exports = {
  reporters: ["default", "<rootDir>/tests/summary-reporter.js"],
  projects: [
    // Pure logic and Pulumi programs under mocks: no servers, seconds.
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/{unit,stacks,policies,tools}/**/*.test.ts"] },
    // Real ZooKeeper, Redis and Kafka started by tests/harness on loopback ports.
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"], testTimeout: 120000 },
    // Real kube-apiserver and the real Pulumi engine; needs tools built by tools/toolchain.
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"], testTimeout: 600000 },
  ],
};
