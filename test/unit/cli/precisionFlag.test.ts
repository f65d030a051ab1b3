import {describe, expect, it} from "vitest";
import {parseArgs} from "../../../src/cli/parseArgs.ts";
import {precisionFlag, precisionUsage} from "../../../src/cli/precisionFlag.ts";
import {UsageError} from "../../../src/cli/UsageError.ts";
import {describePrecision, parsePrecision, precisions} from "../../../src/inference/Precision.ts";

const options = {precision: {type: "string"}, fast: {type: "boolean", default: false}} as const;
const legacy = {flag: "fast", precision: "16bit"} as const;
const flag = (...argv: string[]) => precisionFlag(parseArgs(argv, options), "fp32", legacy);

describe("precision vocabulary", () => {
    it("names three precisions, reads each word back, and fast as 16bit", () => {
        expect(precisions).toEqual(["fp32", "16bit", "int8"]);
        for (const precision of precisions) expect(parsePrecision(precision)).toBe(precision);
        expect(parsePrecision("fast")).toBe("16bit");
        expect(parsePrecision("fp16")).toBeUndefined();
        expect(new Set(precisions.map(describePrecision)).size).toBe(3);
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
        expect(() => flag("--precision", "int4")).toThrow('--precision must be one of fp32, 16bit, int8, fast, not "int4"');
        expect(() => flag("--fast", "--precision", "int8")).toThrow("--fast means --precision 16bit, which contradicts --precision int8");
    });

    it("documents every precision and the older flag in the usage text", () => {
        const usage = precisionUsage("16bit", legacy);
        for (const precision of precisions) expect(usage).toContain(describePrecision(precision));
        expect(usage).toContain("default 16bit");
        expect(usage).toContain("--fast");
    });
});
