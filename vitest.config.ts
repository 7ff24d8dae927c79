import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) without an exports map: Node
    // loads the CJS build for external packages, so tests must use it too, or
    // two graphql copies meet in one schema.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Files run in parallel, each against its own database; two cores here.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
