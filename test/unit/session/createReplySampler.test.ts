import {describe, expect, it} from "vitest";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import {createReplySampler} from "../../../src/session/createReplySampler.ts";
import {smallTokenizer} from "../tokenizer/smallVocab.ts";

describe("createReplySampler", () => {
    const tokenizer = smallTokenizer([["'12'", 2], ["' \\t'", 2], ["'a1'", 2], ["'  '", 2]]);
    const nVocab = tokenizer.vocabSize + 3;

    it("bans token 0 and the model's ids past the vocabulary", () => {
        const sampler = createReplySampler({...chatSamplingDefaults, bannedTokens: [5]}, tokenizer, nVocab);
        expect([...sampler.options.bannedTokens].sort((a, b) => a - b)).toEqual([0, 5, 261, 262, 263]);
    });

    it("does not count repeats of spaces, tabs and digits, as ChatRWKV", () => {
        const sampler = createReplySampler({...chatSamplingDefaults, presencePenalty: 1, frequencyPenalty: 1}, tokenizer, nVocab);
        const counted = (id: number): number => {
            sampler.reset();
            sampler.accept(id);
            const logits = new Float32Array(nVocab);
            sampler.penalize(logits);
            return -(logits[id] as number) - 1;
        };
        // "12" and " \t" are substrings of " \t0123456789"; "a1" and "  " are not.
        expect([257, 258, 0x20 + 1, 0x09 + 1, 0x37 + 1].map(counted)).toEqual([0, 0, 0, 0, 0]);
        expect([259, 260, 0x61 + 1].map(counted)).toEqual([1, 1, 1]);
    });
});
