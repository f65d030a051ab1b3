import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, describe, expect, it} from "vitest";
import {engineCapabilities} from "../../src/inference/engineCapabilities.ts";
import {runCli} from "../helpers/runCli.ts";
import {fixturesDir} from "../helpers/fixtures.ts";
import {fp32Tolerance, golden, goldenFloats, maxAbsDiff, modelPath, readF32, stateDiff} from "./engineFixtures.ts";

// The CLI contract used by external checks: `logits` and `info` as a user runs them.
const work = mkdtempSync(join(tmpdir(), "rwkv-cli-"));
afterAll(() => rmSync(work, {recursive: true, force: true}));

const cli = (...args: string[]) => runCli(args);

const set = golden("tiny-L3-C128-V1024");
const model = modelPath("tiny-L3-C128-V1024.fp32.pth");
const out = (name: string) => join(work, name);

describe("cli logits", () => {
    it("--mode rnn writes one row per token matching logits_rnn", async () => {
        const result = await cli("logits", "--model", model, "--tokens", set.tokens.join(","), "--out", out("rnn.f32"));
        expect(result.code, result.stderr).toBe(0);
        expect(maxAbsDiff(readF32(out("rnn.f32")), goldenFloats(set, "logits_rnn.f32"))).toBeLessThan(fp32Tolerance.logits);
    });

    it("--mode seq matches logits_seq and --state-out writes state_final", async () => {
        const result = await cli(
            "logits", "--model", model, "--tokens", set.tokens.join(","), "--mode", "seq",
            "--out", out("seq.f32"), "--state-out", out("final.f32"),
        );
        expect(result.code, result.stderr).toBe(0);
        expect(maxAbsDiff(readF32(out("seq.f32")), goldenFloats(set, "logits_seq.f32"))).toBeLessThan(fp32Tolerance.logits);
        const state = stateDiff(set, readF32(out("final.f32")), goldenFloats(set, "state_final.f32"));
        expect(state.shift).toBeLessThan(fp32Tolerance.shift);
        expect(state.wkv).toBeLessThan(fp32Tolerance.wkv);
    });

    it("--state-in resumes from state_split: logits_resume and state_resume_final", async () => {
        const stateIn = `${fixturesDir}/golden/${set.name}/state_split.f32`;
        const result = await cli(
            "logits", "--model", model, "--tokens", set.resume_tokens.join(","), "--state-in", stateIn,
            "--out", out("resume.f32"), "--state-out", out("resume-state.f32"),
        );
        expect(result.code, result.stderr).toBe(0);
        expect(maxAbsDiff(readF32(out("resume.f32")), goldenFloats(set, "logits_resume.f32"))).toBeLessThan(fp32Tolerance.logits);
        const state = stateDiff(set, readF32(out("resume-state.f32")), goldenFloats(set, "state_resume_final.f32"));
        expect(state.shift).toBeLessThan(fp32Tolerance.shift);
        expect(state.wkv).toBeLessThan(fp32Tolerance.wkv);
    });

    it("refuses a state file of the wrong size with one error line naming both sizes, exit 1", async () => {
        writeFileSync(out("short.f32"), new Uint8Array(100));
        const result = await cli("logits", "--model", model, "--tokens", "1", "--state-in", out("short.f32"), "--out", out("x.f32"));
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
        expect(result.stderr).toMatch(/^error: .*100 bytes.*101376 bytes.*\(engine\/invalid_argument\)/);
    });

    it("reports a missing model as one error line with its code, exit 1", async () => {
        const result = await cli("logits", "--model", out("missing.pth"), "--tokens", "1", "--out", out("x.f32"));
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/^error: .*missing\.pth.*\(engine\/io\)\n$/);
    });

    const seqLogits = async (name: string, ...flags: string[]) => {
        const result = await cli("logits", "--model", model, "--tokens", set.tokens.join(","), "--mode", "seq", "--out", out(name), ...flags);
        expect(result.code, result.stderr).toBe(0);
        return readF32(out(name));
    };

    it("--precision int8 stays near the goldens", async () => {
        const golden = goldenFloats(set, "logits_seq.f32");
        const int8 = await seqLogits("int8.f32", "--precision", "int8");
        expect(maxAbsDiff(int8, golden)).toBeLessThan(0.3);
        expect(maxAbsDiff(int8, golden)).toBeGreaterThan(fp32Tolerance.logits);
    });

    it("--fast is --precision 16bit, bit for bit", async () => {
        const half = await seqLogits("16bit.f32", "--precision", "16bit");
        expect(maxAbsDiff(half, goldenFloats(set, "logits_seq.f32"))).toBeLessThan(0.1);
        expect(await seqLogits("fast.f32", "--fast")).toEqual(half);
    });

    it("refuses an unknown --precision, or one that contradicts --fast, with exit 2", async () => {
        const unknown = await cli("logits", "--model", model, "--tokens", "1", "--out", out("x.f32"), "--precision", "int4");
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toContain('--precision must be one of fp32, 16bit, int8, auto, fast, not "int4"');
        const contradiction = await cli("logits", "--model", model, "--tokens", "1", "--out", out("x.f32"), "--fast", "--precision", "int8");
        expect(contradiction.code).toBe(2);
        expect(contradiction.stderr).toContain("--fast means --precision 16bit");
    });

    it("exits 2 with the usage text for a bad command line", async () => {
        const missing = await cli("logits", "--model", model, "--out", out("x.f32"));
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain("--tokens is required");
        expect(missing.stderr).toContain("usage: npm run -s cli -- logits");
        const badTokens = await cli("logits", "--model", model, "--tokens", "1,x", "--out", out("x.f32"));
        expect(badTokens.code).toBe(2);
        const unknown = await cli("nope");
        expect(unknown.code).toBe(2);
    });
});

describe("cli info", () => {
    it("prints key: value lines with dims, dtype, parameters, state size, id, backend and kernel", async () => {
        const result = await cli("info", "--model", model);
        expect(result.code, result.stderr).toBe(0);
        const lines = Object.fromEntries(
            result.stdout.trim().split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
        );
        expect(lines.dims).toContain("n_vocab=1024 n_embd=128 n_layer=3 n_head=2 head_size=64");
        expect(lines["file dtype"]).toBe("f32");
        expect(Number(lines.parameters)).toBeGreaterThan(0);
        expect(lines["state bytes"]).toBe("101376");
        expect(lines["state floats per layer"]).toBe(String(101376 / 4 / 3));
        expect(lines["model id"]).toMatch(/^[0-9a-f]{64}$/);
        expect(lines.backend).toBe("cpu");
        // The host's free memory less the reserve: what auto and the refusal of oversized weights go by.
        expect(Number(lines["memory budget"])).toBeGreaterThan(Number(lines["weight bytes"]));
        // The table this host's engine dispatches to (a VNNI one where the CPU has it).
        expect(lines.kernel).toMatch(/^(avx512vnni|avx512|avx2vnni|avx2|scalar)$/);
        expect(lines.kernel).toBe(engineCapabilities().cpuKernel);
    });

    it("--precision names the precision loaded, and int8 holds fewer weight bytes than 16bit (what the default, auto, takes where it fits)", async () => {
        const weightBytes = async (...flags: string[]) => {
            const result = await cli("info", "--model", model, "--json", ...flags);
            expect(result.code, result.stderr).toBe(0);
            return JSON.parse(result.stdout) as {precision: string; weightBytes: number};
        };
        const [standard, int8, fp32] = [await weightBytes(), await weightBytes("--precision", "int8"), await weightBytes("--fp32")];
        expect([standard.precision, int8.precision, fp32.precision]).toEqual(["16bit", "int8", "fp32"]);
        expect(int8.weightBytes).toBeLessThan(standard.weightBytes);
        expect(standard.weightBytes).toBeLessThan(fp32.weightBytes);
    });

    it("--json prints the same as one object", async () => {
        const result = await cli("info", "--model", model, "--json");
        expect(result.code, result.stderr).toBe(0);
        const info = JSON.parse(result.stdout) as Record<string, unknown>;
        expect(info).toMatchObject({nVocab: 1024, nLayer: 3, fileDtype: "f32", stateByteLength: 101376, stateFloatsPerLayer: 8448});
    });
});
