import {describe, expect, it} from "vitest";
import {parseArgs} from "../../../src/cli/parseArgs.ts";
import {precisionFlag, precisionUsage} from "../../../src/cli/precisionFlag.ts";
import {UsageError} from "../../../src/cli/UsageError.ts";
import {describeLoadedPrecision, describePrecision, parsePrecision, precisionRequests, precisions} from "../../../src/inference/Precision.ts";

const options = {precision: {type: "string"}, fast: {type: "boolean", default: false}} as const;
const legacy = {flag: "fast", precision: "16bit"} as const;
const flag = (...argv: string[]) => precisionFlag(parseArgs(argv, options), "fp32", legacy);

describe("precision vocabulary", () => {
    it("names three precisions and auto, reads each word back, and fast as 16bit", () => {
        expect(precisions).toEqual(["fp32", "16bit", "int8"]);
        expect(precisionRequests).toEqual(["fp32", "16bit", "int8", "auto"]);
        for (const precision of precisionRequests) expect(parsePrecision(precision)).toBe(precision);
        expect(parsePrecision("fast")).toBe("16bit");
        expect(parsePrecision("fp16")).toBeUndefined();
        expect(new Set(precisionRequests.map(describePrecision)).size).toBe(4);
    });

    it("says what a load took and, for auto, why", () => {
        const int8 = {precision: "int8", weightBytes: 12.6e9, memoryBudget: 21.44e9} as const;
        expect(describeLoadedPrecision("auto", int8)).toBe("int8 weights (12.6 GB; auto: 16bit did not fit the 21.4 GB budget)");
        expect(describeLoadedPrecision("auto", {...int8, precision: "16bit", weightBytes: 9.95e8})).toBe("16bit weights (995.0 MB; auto: they fit the 21.4 GB budget)");
        expect(describeLoadedPrecision("auto", {...int8, memoryBudget: 0})).toBe("int8 weights (12.6 GB; auto: 16bit did not fit the free memory)");
        expect(describeLoadedPrecision("int8", int8)).toBe("int8 weights (12.6 GB)");
    });

    it("--precision takes any word, the older flag its own precision, neither the fallback", () => {
        expect(flag()).toBe("fp32");
        expect(flag("--precision", "int8")).toBe("int8");
        expect(flag("--precision", "fast")).toBe("16bit");
        expect(flag("--fast")).toBe("16bit");
        expect(flag("--fast", "--precision", "16bit")).toBe("16bit");
    });

    it("refuses an unknown word and a contradiction with a usage error", () => {
        expect(() => flag("--precision", "int4")).toThrow(UsageError);
        expect(() => flag("--precision", "int4")).toThrow('--precision must be one of fp32, 16bit, int8, auto, fast, not "int4"');
        expect(() => flag("--fast", "--precision", "int8")).toThrow("--fast means --precision 16bit, which contradicts --precision int8");
    });

    it("documents every precision and the older flag in the usage text", () => {
        const usage = precisionUsage("16bit", legacy);
        for (const precision of precisionRequests) expect(usage).toContain(describePrecision(precision));
        expect(usage).toContain("default 16bit");
        expect(usage).toContain("--fast");
    });
});
