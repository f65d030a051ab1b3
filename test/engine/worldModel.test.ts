import {readFileSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {RwkvEngine} from "../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {worldModel} from "../helpers/fixtures.ts";
import {fp32Tolerance, maxAbsDiff, readF32, row, stateDiff, type GoldenSet} from "./engineFixtures.ts";

// The 65536-vocab goldens keep only some rows of the logits (65536 floats a
// row), plus every position's argmax.
const {name, goldenDir, path: modelFile} = worldModel;

interface WorldManifest extends Omit<GoldenSet, "name"> {
    logits: Record<"seq" | "resume_rnn", {rows: number[]; argmax: number[]}>;
}

describe(`${name} (fp32)`, () => {
    let manifest: WorldManifest;
    let set: GoldenSet;
    let model: RwkvModel;
    let engine: RwkvEngine;

    beforeAll(async () => {
        manifest = JSON.parse(readFileSync(`${goldenDir}/manifest.json`, "utf8")) as WorldManifest;
        set = {name, ...manifest};
        model = await RwkvModel.load(modelFile, {precision: "fp32"});
        engine = await model.createEngine({slots: 1});
    });
    afterAll(() => model?.dispose());

    it("sequence mode matches the stored rows, every argmax and state_final", async () => {
        const nVocab = set.config.vocab_size;
        const [output] = await engine.step([{slot: 0, tokens: set.tokens, logits: "all"}]);
        const golden = readF32(`${goldenDir}/logits_seq_rows.f32`);
        for (const [i, position] of manifest.logits.seq.rows.entries()) {
            expect(maxAbsDiff(row(output!.logits!, position, nVocab), row(golden, i, nVocab))).toBeLessThan(fp32Tolerance.logits);
        }
        const argmax = set.tokens.map((_, t) => {
            const logits = row(output!.logits!, t, nVocab);
            return logits.indexOf(Math.max(...logits));
        });
        expect(argmax).toEqual(manifest.logits.seq.argmax);
        const state = stateDiff(set, await engine.exportState(0), readF32(`${goldenDir}/state_final.f32`));
        expect(state.shift).toBeLessThan(fp32Tolerance.shift);
        expect(state.wkv).toBeLessThan(fp32Tolerance.wkv);
    });

    it("resume from state_split matches the stored rows and state_resume_final", async () => {
        const nVocab = set.config.vocab_size;
        await engine.importState(0, readF32(`${goldenDir}/state_split.f32`));
        const rows: Float32Array[] = [];
        for (const token of set.resume_tokens) {
            const [output] = await engine.step([{slot: 0, tokens: [token]}]);
            rows.push(output!.logits!);
        }
        const golden = readF32(`${goldenDir}/logits_resume_rows.f32`);
        for (const [i, position] of manifest.logits.resume_rnn.rows.entries()) {
            expect(maxAbsDiff(rows[position]!, row(golden, i, nVocab))).toBeLessThan(fp32Tolerance.logits);
        }
        const state = stateDiff(set, await engine.exportState(0), readF32(`${goldenDir}/state_resume_final.f32`));
        expect(state.shift).toBeLessThan(fp32Tolerance.shift);
        expect(state.wkv).toBeLessThan(fp32Tolerance.wkv);
    });
});
