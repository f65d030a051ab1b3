import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {RwkvEngine} from "../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {fastTolerance, fp32Tolerance, golden, goldenFloats, maxAbsDiff, modelPath, row, stateDiff} from "./engineFixtures.ts";

// docs/rwkv5.md §11: RNN, sequence, chunked and resume runs against the reference
// goldens, on both fixture shapes (multi-head C128 and single-head seven layers).
const cases = [
    {set: "tiny-L3-C128-V1024", file: "tiny-L3-C128-V1024.fp32.pth"},
    {set: "deep-L7-C64-V512", file: "deep-L7-C64-V512.bf16.pth"},
];

async function runRnn(engine: RwkvEngine, tokens: readonly number[]): Promise<Float32Array> {
    const {nVocab} = engine.info;
    const logits = new Float32Array(tokens.length * nVocab);
    for (const [t, token] of tokens.entries()) {
        const [output] = await engine.step([{slot: 0, tokens: [token]}]);
        logits.set(output!.logits!, t * nVocab);
    }
    return logits;
}

for (const precision of ["fp32", "16bit"] as const) {
    const tolerance = precision === "fp32" ? fp32Tolerance : fastTolerance;
    for (const {set: setName, file} of cases) {
        describe(`${setName} (${precision})`, () => {
            const set = golden(setName);
            let model: RwkvModel;
            let engine: RwkvEngine;

            beforeAll(async () => {
                model = await RwkvModel.load(modelPath(file), {precision});
                engine = await model.createEngine({slots: 1});
            });
            afterAll(() => model?.dispose());

            it("RNN mode: one step per token matches logits_rnn and state_final", async () => {
                await engine.importState(0, null);
                const logits = await runRnn(engine, set.tokens);
                expect(maxAbsDiff(logits, goldenFloats(set, "logits_rnn.f32"))).toBeLessThan(tolerance.logits);
                const state = stateDiff(set, await engine.exportState(0), goldenFloats(set, "state_final.f32"));
                expect(state.shift).toBeLessThan(tolerance.shift);
                expect(state.wkv).toBeLessThan(tolerance.wkv);
            });

            it("sequence mode: one step over all tokens matches logits_seq and state_final", async () => {
                await engine.importState(0, null);
                const [output] = await engine.step([{slot: 0, tokens: set.tokens, logits: "all"}]);
                expect(output!.rows).toBe(set.tokens.length);
                expect(maxAbsDiff(output!.logits!, goldenFloats(set, "logits_seq.f32"))).toBeLessThan(tolerance.logits);
                const state = stateDiff(set, await engine.exportState(0), goldenFloats(set, "state_final.f32"));
                expect(state.shift).toBeLessThan(tolerance.shift);
                expect(state.wkv).toBeLessThan(tolerance.wkv);
            });

            it("chunked prefill (chunks of 7, logits only at the end) gives the last row and the final state", async () => {
                await engine.importState(0, null);
                let last: Float32Array | null = null;
                for (let start = 0; start < set.tokens.length; start += 7) {
                    const chunk = set.tokens.slice(start, start + 7);
                    const isLast = start + 7 >= set.tokens.length;
                    const [output] = await engine.step([{slot: 0, tokens: chunk, logits: isLast ? "last" : "none"}]);
                    expect(output!.rows).toBe(isLast ? 1 : 0);
                    last = output!.logits;
                }
                const nVocab = set.config.vocab_size;
                const golden = row(goldenFloats(set, "logits_seq.f32"), set.tokens.length - 1, nVocab);
                expect(maxAbsDiff(last!, golden)).toBeLessThan(tolerance.logits);
                const state = stateDiff(set, await engine.exportState(0), goldenFloats(set, "state_final.f32"));
                expect(state.shift).toBeLessThan(tolerance.shift);
                expect(state.wkv).toBeLessThan(tolerance.wkv);
            });

            it("prefill to the split point gives state_split", async () => {
                await engine.importState(0, null);
                await engine.step([{slot: 0, tokens: set.tokens.slice(0, set.split), logits: "none"}]);
                const state = stateDiff(set, await engine.exportState(0), goldenFloats(set, "state_split.f32"));
                expect(state.shift).toBeLessThan(tolerance.shift);
                expect(state.wkv).toBeLessThan(tolerance.wkv);
            });

            it("resume: state_split imported, then resume_tokens one by one, matches logits_resume and state_resume_final", async () => {
                await engine.importState(0, goldenFloats(set, "state_split.f32"));
                const logits = await runRnn(engine, set.resume_tokens);
                expect(maxAbsDiff(logits, goldenFloats(set, "logits_resume.f32"))).toBeLessThan(tolerance.logits);
                const state = stateDiff(set, await engine.exportState(0), goldenFloats(set, "state_resume_final.f32"));
                expect(state.shift).toBeLessThan(tolerance.shift);
                expect(state.wkv).toBeLessThan(tolerance.wkv);
            });
        });
    }
}

describe("the three dtypes of tiny-L3-C128-V1024", () => {
    it("give identical logits and states in fp32", async () => {
        const set = golden("tiny-L3-C128-V1024");
        const results = [];
        for (const dtype of ["fp32", "fp16", "bf16"]) {
            const model = await RwkvModel.load(modelPath(`tiny-L3-C128-V1024.${dtype}.pth`), {precision: "fp32"});
            try {
                expect(model.info.fileDtype).toBe(dtype === "fp32" ? "f32" : dtype === "fp16" ? "f16" : "bf16");
                const engine = await model.createEngine({slots: 1});
                const [output] = await engine.step([{slot: 0, tokens: set.tokens, logits: "all"}]);
                results.push({logits: output!.logits!, state: await engine.exportState(0)});
            } finally {
                await model.dispose();
            }
        }
        expect(results[1]).toEqual(results[0]);
        expect(results[2]).toEqual(results[0]);
    });
});
