import {defineConfig} from "vitest/config";

// Tiers by what they need (shared/TESTING.md): test/unit needs nothing,
// test/engine the built addon, test/store a database, test/e2e loopback fakes.
// Native memory and databases dislike sharing a process: one fork per file.
export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        exclude: ["test/gpu/**", "node_modules/**"],
        pool: "forks",
        testTimeout: 60_000,
        hookTimeout: 120_000,
    },
});
