import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {afterAll, afterEach, describe, expect, it, vi} from "vitest";
import {requiredInCi} from "../../helpers/requiredInCi.ts";
import {runProcess} from "../../helpers/runProcess.ts";

const repo = fileURLToPath(new URL("../../..", import.meta.url));

describe("requiredInCi", () => {
    afterEach(() => vi.unstubAllEnvs());

    it("runs the tests when nothing is missing, in CI or not", () => {
        vi.stubEnv("CI", "true");
        expect(requiredInCi(undefined)).toBe(true);
        vi.stubEnv("CI", "");
        expect(requiredInCi(undefined)).toBe(true);
    });

    it("skips them outside CI, saying what is missing", () => {
        vi.stubEnv("CI", "false");
        const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
        expect(requiredInCi("no Redis at redis://127.0.0.1:6379")).toBe(false);
        expect(warn).toHaveBeenCalledWith("skipping: no Redis at redis://127.0.0.1:6379");
        warn.mockRestore();
    });

    it("fails under CI instead, with what is missing", () => {
        vi.stubEnv("CI", "1");
        expect(() => requiredInCi("no Redis at redis://127.0.0.1:6379")).toThrow("no Redis at redis://127.0.0.1:6379: CI runs these tests, it does not skip them");
    });
});

describe("scripts/checkSkips.ts on vitest's JSON report", () => {
    const dir = mkdtempSync(join(tmpdir(), "rwkv-skips-"));
    let reports = 0;
    afterAll(() => rmSync(dir, {recursive: true, force: true}));

    /** A report with one passed test in test/unit plus one test of each given status and file. */
    function report(tests: {file: string; status: string}[]): string {
        const path = join(dir, `report-${++reports}.json`);
        const results = [{file: "test/unit/a.test.ts", status: "passed"}, ...tests].map(({file, status}, i) => ({
            name: join(repo, file), status: "passed",
            assertionResults: [{ancestorTitles: ["suite"], fullName: `suite test ${i}`, title: `test ${i}`, status, failureMessages: []}],
        }));
        writeFileSync(path, JSON.stringify({numTotalTests: results.length, testResults: results}));
        return path;
    }

    const check = (file: string, ci: string) =>
        runProcess("npx", ["tsx", "scripts/checkSkips.ts", file], {cwd: repo, env: {PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? repo, CI: ci}});

    it("fails CI on a test skipped outside test/gpu, naming it", async () => {
        const file = report([{file: "test/unit/scheduler/TurnLimits.redis.test.ts", status: "skipped"}, {file: "test/gpu/cuda.test.ts", status: "skipped"}]);
        const result = await check(file, "true");
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("skip check: 1 test(s) skipped outside test/gpu; CI must run them all:\n  test/unit/scheduler/TurnLimits.redis.test.ts > suite test 1 (skipped)\n");
        expect(result.stderr).not.toContain("test/gpu/cuda.test.ts");
    });

    it("counts todo tests as not run", async () => {
        const result = await check(report([{file: "test/e2e/b.test.ts", status: "todo"}]), "true");
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("test/e2e/b.test.ts > suite test 1 (todo)");
    });

    it("lets CI pass when only the GPU tier skipped", async () => {
        const result = await check(report([{file: "test/gpu/cuda.test.ts", status: "skipped"}]), "true");
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain("skip check: all 2 tests ran, none skipped outside test/gpu");
    });

    it("only warns outside CI", async () => {
        const result = await check(report([{file: "test/store/c.test.ts", status: "skipped"}]), "");
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("skip check: 1 test(s) skipped outside test/gpu (CI fails on this):\n  test/store/c.test.ts > suite test 1 (skipped)");
    });
});
