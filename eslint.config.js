// Lint: eslint's and typescript-eslint's recommended rules, plus @pulumi/eslint-plugin, whose rules need
// type information (they recognise an Output<T> in a template literal, where it would print as text).
const js = require("@eslint/js");
const pulumi = require("@pulumi/eslint-plugin");
const tseslint = require("typescript-eslint");

module.exports = tseslint.config(
  { ignores: ["node_modules/", "out/", "coverage/", "policies/node_modules/", "runtime/dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      // `import x = require()` is TypeScript's typed import of a CommonJS module, not a runtime require.
      "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
      // `const { dropped, ...rest } = obj` is how a key is left out of a copy.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // Code that navigates untyped documents (manifests, YAML, JSON, engine events) by path, and code not yet
    // typed: `any` is allowed here, and nowhere else (components/, infra/*.ts and policies/rules/ are typed).
    files: ["tests/**", "tools/**", "infra/config/**", "policies/*.ts", "runtime/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The CommonJS config files (this one, jest's) and the test reporter.
    files: ["**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", __dirname: "readonly", process: "readonly", console: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
);
