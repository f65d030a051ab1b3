import {readFileSync} from "node:fs";
import {join} from "node:path";
import {describe, expect, it} from "vitest";
import {BotError} from "../../../src/errors/BotError.ts";
import {Sampler} from "../../../src/inference/Sampler.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import type {SamplingOptions} from "../../../src/inference/SamplingOptions.ts";
import {fixturesDir, worldModel} from "../../helpers/fixtures.ts";

interface SamplerCase {temperature: number; top_p: number; top_k: number; kept_ids: number[]; probs: number[]}

/** The last row of the golden RNN logits (the input of the manifest's sampler cases) and the cases. */
function goldenSampler(dir: string, logitsFile: string): {logits: Float32Array; cases: SamplerCase[]} {
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
        config: {vocab_size: number};
        sampler: {cases: SamplerCase[]};
    };
    const bytes = readFileSync(join(dir, logitsFile));
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    return {logits: all.slice(all.length - manifest.config.vocab_size), cases: manifest.sampler.cases};
}

const options = (overrides: Partial<SamplingOptions>): SamplingOptions => ({...chatSamplingDefaults, seed: 1, ...overrides});

const goldens = [
    ["tiny-L3-C128-V1024", () => goldenSampler(join(fixturesDir, "golden/tiny-L3-C128-V1024"), "logits_rnn.f32")],
    ["deep-L7-C64-V512", () => goldenSampler(join(fixturesDir, "golden/deep-L7-C64-V512"), "logits_rnn.f32")],
    [worldModel.name, () => goldenSampler(worldModel.goldenDir, "logits_rnn_rows.f32")],
] as const;

describe.each(goldens)("Sampler.distribution on the %s golden logits", (_, load) => {
    const {logits, cases} = load();
    it.each(cases.map((c) => [c.temperature, c.top_p, c.top_k, c] as const))(
        "keeps upstream's ids and probabilities at temperature %s, top-p %s, top-k %s",
        (temperature, topP, topK, c) => {
            const {ids, probs} = new Sampler(options({temperature, topP, topK})).distribution(logits);
            expect([...ids]).toEqual(c.kept_ids);
            // The golden probabilities are rounded to 1e-7.
            probs.forEach((p, i) => expect(Math.abs(p - (c.probs[i] as number))).toBeLessThanOrEqual(1.5e-7));
        },
    );
});

describe("Sampler", () => {
    const logits = (...values: number[]): Float32Array => Float32Array.from(values);

    it("keeps ids tied with the top-p cutoff", () => {
        const {ids, probs} = new Sampler(options({topP: 0.1})).distribution(logits(1, 2, 2, 0));
        expect([...ids]).toEqual([1, 2]);
        expect([...probs]).toEqual([0.5, 0.5]);
    });

    it("cuts top-p at temperature 1, then applies the temperature", () => {
        const flat = new Sampler(options({topP: 0.7, temperature: 1})).distribution(logits(2, 1, 0, -1));
        const hot = new Sampler(options({topP: 0.7, temperature: 2})).distribution(logits(2, 1, 0, -1));
        expect([...hot.ids]).toEqual([...flat.ids]);
        expect(hot.probs[0]).toBeLessThan(flat.probs[0] as number);
        const ratio = Math.exp(0.5);
        expect((hot.probs[0] as number) / (hot.probs[1] as number)).toBeCloseTo(ratio, 5);
    });

    it("cuts at top-p 1 where the float32 sum reaches 1, as upstream does", () => {
        const {ids} = new Sampler(options({topP: 1})).distribution(logits(3, 2, 1, 0, -20));
        expect([...ids]).toEqual([0, 1, 2, 3]);
    });

    it("keeps everything at top-p 1 when the float32 sum stays just under 1", () => {
        // Upstream's argmax over an all-false mask would keep only the top id here.
        const {ids} = new Sampler(options({topP: 1})).distribution(logits(1.4, 1.6, 3.6));
        expect([...ids]).toEqual([2, 1, 0]);
    });

    it("is greedy at temperature 0, lowest id on ties", () => {
        const sampler = new Sampler(options({temperature: 0, presencePenalty: 0, frequencyPenalty: 0, bannedTokens: []}));
        expect(sampler.sample(logits(0, 5, 5, 1))).toBe(1);
    });

    it("never samples a banned token", () => {
        const sampler = new Sampler(options({temperature: 0, bannedTokens: [0, 2]}));
        expect(sampler.sample(logits(9, 1, 8, 2))).toBe(3);
    });

    it("applies presence and decayed frequency penalties to generated tokens, in upstream order", () => {
        const sampler = new Sampler(options({temperature: 0, presencePenalty: 0.5, frequencyPenalty: 0.25, penaltyDecay: 0.5, bannedTokens: []}));
        sampler.accept(1);
        sampler.accept(1);
        sampler.accept(2);
        // Occurrences: 1 → (1·0.5 + 1)·0.5 = 0.75, 2 → 1.
        const row = logits(0, 10, 10, 0);
        sampler.penalize(row);
        expect([...row]).toEqual([0, Math.fround(10 - 0.5 - 0.75 * 0.25), 10 - 0.5 - 0.25, 0]);
        sampler.reset();
        const fresh = logits(0, 10, 10, 0);
        sampler.penalize(fresh);
        expect([...fresh]).toEqual([0, 10, 10, 0]);
    });

    it("gives presence but no frequency to uncounted tokens", () => {
        const sampler = new Sampler(options({presencePenalty: 1, frequencyPenalty: 1, bannedTokens: []}), {uncountedTokens: new Set([3])});
        sampler.accept(3);
        sampler.accept(3);
        const row = logits(0, 0, 0, 5);
        sampler.penalize(row);
        expect(row[3]).toBe(4);
    });

    it("repeats its draws for the same seed and differs for another", () => {
        const draw = (seed: number): number[] => {
            const sampler = new Sampler(options({seed, topP: 1, presencePenalty: 0, frequencyPenalty: 0, bannedTokens: []}));
            return Array.from({length: 64}, () => sampler.sample(logits(0, 0.5, 1, 1.5, 2, 0.2, 0.7, 1.1)));
        };
        expect(draw(42)).toEqual(draw(42));
        expect(draw(42)).not.toEqual(draw(43));
    });

    it("draws in proportion to the distribution", () => {
        const sampler = new Sampler(options({seed: 7, topP: 1, presencePenalty: 0, frequencyPenalty: 0, bannedTokens: []}));
        const counts = [0, 0, 0];
        const n = 20_000;
        for (let i = 0; i < n; i += 1) counts[sampler.sample(logits(0, Math.log(2), Math.log(7)))]! += 1;
        expect(counts.map((c) => c / n)).toEqual([expect.closeTo(0.1, 1), expect.closeTo(0.2, 1), expect.closeTo(0.7, 1)]);
    });

    it("refuses unusable options, listing each problem", () => {
        expect(() => new Sampler(options({temperature: -1, topP: 2}))).toThrow(BotError);
        expect(() => new Sampler(options({temperature: -1, topP: 2}))).toThrow(/temperature must be a number ≥ 0; topP must be in \[0, 1\]/);
    });
});
