// The skip check of `npm test` (issue: CI must not turn green by skipping):
// reads vitest's JSON report and lists every test that did not run outside
// test/gpu (the only tier that may skip, where there is no GPU). Under CI
// (`CI` set) any such test fails the run; elsewhere they are listed as a warning.
//   tsx scripts/checkSkips.ts REPORT.json
import {readFileSync} from "node:fs";
import path from "node:path";
import type {JsonTestResults} from "vitest/reporters";
import {inCi} from "../test/helpers/requiredInCi.ts";

const root = path.resolve(import.meta.dirname, "..");
const gpuTier = `test${path.sep}gpu${path.sep}`;

function main(argv: string[]): number {
    const [file] = argv;
    if (file === undefined) {
        console.error("usage: tsx scripts/checkSkips.ts REPORT.json");
        return 2;
    }
    const report = JSON.parse(readFileSync(file, "utf8")) as JsonTestResults;
    const skipped = report.testResults
        .map((result) => ({file: path.relative(root, result.name), tests: result.assertionResults}))
        .filter(({file}) => !file.startsWith(gpuTier))
        .flatMap(({file, tests}) => tests.filter((test) => test.status !== "passed" && test.status !== "failed").map((test) => `${file} > ${test.fullName} (${test.status})`));
    if (skipped.length === 0) {
        console.log(`skip check: all ${report.numTotalTests} tests ran, none skipped outside test/gpu`);
        return 0;
    }
    const list = skipped.map((line) => `  ${line}`).join("\n");
    if (!inCi()) {
        console.warn(`skip check: ${skipped.length} test(s) skipped outside test/gpu (CI fails on this):\n${list}`);
        return 0;
    }
    console.error(`skip check: ${skipped.length} test(s) skipped outside test/gpu; CI must run them all:\n${list}`);
    return 1;
}

process.exitCode = main(process.argv.slice(2));
