import {Sampler} from "../inference/Sampler.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import type {Tokenizer} from "../inference/Tokenizer.ts";

// ChatRWKV does not count repetitions of tokens whose text is a substring of this.
const uncountedText = " \t0123456789";

/**
 * A {@link Sampler} for chat replies with ChatRWKV's chat rules on top of `options`: ids the
 * vocabulary has no text for (0 `<|endoftext|>`, and the model's unused ids past the
 * vocabulary) are banned, and spaces, tabs and digits do not accumulate frequency penalties.
 * `modelVocabSize` is the model's logit count (`ModelInfo.nVocab`).
 */
export function createReplySampler(options: SamplingOptions, tokenizer: Tokenizer, modelVocabSize: number): Sampler {
    const banned = new Set(options.bannedTokens);
    banned.add(0);
    for (let id = tokenizer.vocabSize; id < modelVocabSize; id += 1) banned.add(id);
    const uncountedTokens = new Set<number>();
    for (let id = 1; id < tokenizer.vocabSize; id += 1) {
        const bytes = tokenizer.tokenBytes(id);
        if (bytes !== undefined && bytes.length <= uncountedText.length && uncountedText.includes(tokenizer.decode([id]))) {
            uncountedTokens.add(id);
        }
    }
    return new Sampler({...options, bannedTokens: [...banned]}, {uncountedTokens});
}
