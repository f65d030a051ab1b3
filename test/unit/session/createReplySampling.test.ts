import {describe, expect, it} from "vitest";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import {createReplySampling} from "../../../src/session/createReplySampling.ts";
import {smallTokenizer} from "../tokenizer/smallVocab.ts";

describe("createReplySampling", () => {
    const tokenizer = smallTokenizer([["'12'", 2], ["' \\t'", 2], ["'a1'", 2], ["'  '", 2]]);
    const nVocab = tokenizer.vocabSize + 3;

    it("bans token 0 and the model's ids past the vocabulary", () => {
        const {params} = createReplySampling({...chatSamplingDefaults, bannedTokens: [5]}, tokenizer, nVocab);
        expect([...params.banned].sort((a, b) => a - b)).toEqual([0, 5, 261, 262, 263]);
    });

    it("drops banned ids the model does not have", () => {
        const {params} = createReplySampling({...chatSamplingDefaults, bannedTokens: [5, nVocab, 100000]}, tokenizer, nVocab);
        expect([...params.banned].sort((a, b) => a - b)).toEqual([0, 5, 261, 262, 263]);
    });

    it("does not count repeats of spaces, tabs and digits, as ChatRWKV", () => {
        const {params} = createReplySampling(chatSamplingDefaults, tokenizer, nVocab);
        // "12" and " \t" are substrings of " \t0123456789"; "a1" and "  " are not.
        const uncounted = new Set(params.uncounted);
        expect([257, 258, 0x20 + 1, 0x09 + 1, 0x37 + 1].map((id) => uncounted.has(id))).toEqual([true, true, true, true, true]);
        expect([259, 260, 0x61 + 1].map((id) => uncounted.has(id))).toEqual([false, false, false]);
    });

    it("draws from the options' seeded stream", () => {
        const a = createReplySampling({...chatSamplingDefaults, seed: 7}, tokenizer, nVocab);
        const b = createReplySampling({...chatSamplingDefaults, seed: 7}, tokenizer, nVocab);
        const draws = [a.random(), a.random(), a.random()];
        expect([b.random(), b.random(), b.random()]).toEqual(draws);
        expect(draws.every((u) => u >= 0 && u < 1)).toBe(true);
    });
});
