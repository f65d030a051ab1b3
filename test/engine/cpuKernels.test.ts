import {execFile} from "node:child_process";
import {readFileSync} from "node:fs";
import path from "node:path";
import {promisify} from "node:util";
import {describe, expect, it} from "vitest";
import {fastTolerance, fp32Tolerance} from "./engineFixtures.ts";
import type {KernelDeviation} from "./helpers/kernelGoldens.ts";

// Every kernel table the engine can pick in production (engine/src/cpu: scalar, AVX2, AVX-VNNI, AVX-512, AVX-512 VNNI)
// against the goldens, each in its own process forced with RWKV5_CPU_KERNEL. A table this CPU
// cannot run is named in one line of the output, and the engine is checked not to pick it.
const helper = path.join(import.meta.dirname, "helpers/kernelGoldens.ts");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The CPU flags each table needs, as `engine/src/cpu/kernels.cpp` checks them. */
const tables = [
    {kernel: "scalar", needs: []},
    {kernel: "avx2", needs: ["avx2", "fma", "f16c"]},
    {kernel: "avx2vnni", needs: ["avx2", "fma", "f16c", "avx_vnni"]},
    {kernel: "avx512", needs: ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq"]},
    {kernel: "avx512vnni", needs: ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"]},
] as const;

const cpuFlags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim().split(/\s+/) ?? []);

async function runForced(kernel: string): Promise<{kernel: string; deviations: KernelDeviation[]}> {
    const {stdout} = await promisify(execFile)(process.execPath, ["--import", "tsx", helper], {env: {...process.env, RWKV5_CPU_KERNEL: kernel}});
    return JSON.parse(stdout.trim().split("\n").at(-1) as string) as {kernel: string; deviations: KernelDeviation[]};
}

/** The README's fp32 figures ("logits within X, states within Y"): a kernel must be at least as good. */
function readmeFp32(): {logits: number; state: number} {
    const match = /logits\s+within\s+([\d.e-]+),\s+states\s+within\s+([\d.e-]+)/.exec(readme);
    if (match === null) throw new Error("README.md no longer states the fp32 precision as 'logits within X, states within Y'");
    return {logits: Number(match[1]), state: Number(match[2])};
}

describe("CPU kernel tables against the goldens", () => {
    for (const {kernel, needs} of tables) {
        const missing = needs.filter((flag) => !cpuFlags.has(flag));
        it(missing.length === 0 ? `${kernel}: runs and matches the goldens` : `${kernel}: not on this CPU (lacks ${missing.join(", ")}), never picked`, async () => {
            const run = await runForced(kernel);
            if (missing.length > 0) {
                console.log(`cpu kernel ${kernel}: NOT RUN, this CPU lacks ${missing.join(", ")} (the engine fell back to ${run.kernel})`);
                expect(run.kernel).not.toBe(kernel);
                return;
            }
            expect(run.kernel).toBe(kernel);
            const of = (precision: KernelDeviation["precision"]) => run.deviations.find((d) => d.precision === precision) as KernelDeviation;
            const [fp32, half, int8] = [of("fp32"), of("16bit"), of("int8")];
            console.log(`cpu kernel ${kernel}: ran; max |Δ| fp32 logits ${fp32.logits.toExponential(1)} state ${Math.max(fp32.shift, fp32.wkv).toExponential(1)}, `
                + `16bit logits ${half.logits.toFixed(3)}, int8 logits ${int8.logits.toFixed(3)} state ${int8.wkv.toFixed(2)}`);
            const figures = readmeFp32();
            expect(fp32.logits).toBeLessThanOrEqual(figures.logits);
            expect(Math.max(fp32.shift, fp32.wkv)).toBeLessThanOrEqual(figures.state);
            expect(fp32.logits).toBeLessThan(fp32Tolerance.logits);
            expect(half.logits).toBeLessThan(fastTolerance.logits);
            expect(half.shift).toBeLessThan(fastTolerance.shift);
            expect(half.wkv).toBeLessThan(fastTolerance.wkv);
            // int8: the README's measured |Δlogit| (0.28) and att_x/ffn_x (0.07); the WKV state within the bf16 tolerance, as the README puts it.
            expect(int8.logits).toBeLessThan(0.3);
            expect(int8.shift).toBeLessThan(0.07);
            expect(int8.wkv).toBeLessThan(1.0);
        }, 120_000);
    }
});
