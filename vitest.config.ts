import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Files run in parallel, each against its own database; two cores here.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
