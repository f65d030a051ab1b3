import {engineSampling} from "../inference/EngineSampling.ts";
import type {EngineSampling} from "../core/Stepper.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import {seededUniform} from "../inference/seededUniform.ts";
import type {Tokenizer} from "../inference/Tokenizer.ts";

// ChatRWKV does not count repetitions of tokens whose text is a substring of this.
const uncountedText = " \t0123456789";

/** How a conversation's reply tokens are drawn: the engine's parameters and the uniform draws. */
export interface ReplySampling {
    readonly params: EngineSampling;
    /** The next uniform in [0, 1): the options' seeded stream, which goes on from reply to reply. */
    readonly random: () => number;
}

/**
 * The sampling of chat replies: `options` with ChatRWKV's chat rules on top: ids the vocabulary
 * has no text for (0 `<|endoftext|>`, and the model's unused ids past the vocabulary) are banned,
 * and spaces, tabs and digits do not accumulate frequency penalties. `modelVocabSize` is the
 * model's logit count (`ModelInfo.nVocab`). Throws a `BotError` `sampling/invalid_options`.
 */
export function createReplySampling(options: SamplingOptions, tokenizer: Tokenizer, modelVocabSize: number): ReplySampling {
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
    return {params: engineSampling({...options, bannedTokens: [...banned]}, modelVocabSize, uncountedTokens), random: seededUniform(options.seed)};
}
