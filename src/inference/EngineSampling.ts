import {BotError} from "../errors/BotError.ts";
import {samplingOptionProblems} from "./SamplingOptions.ts";
import type {SamplingOptions} from "./SamplingOptions.ts";

/**
 * {@link SamplingOptions} as the engine takes them (rwkv5.h `rwkv5_sampling_params`) for one model:
 * the id lists as typed arrays, built once and reused by every step. The seed is not here: the
 * caller draws each step's uniform from its own seeded stream.
 */
export interface EngineSampling {
    readonly temperature: number;
    readonly topP: number;
    readonly topK: number;
    readonly presencePenalty: number;
    readonly frequencyPenalty: number;
    readonly penaltyDecay: number;
    /** The banned ids inside the model's vocabulary (the TS `Sampler` ignores the others too). */
    readonly banned: Int32Array;
    /** Ids whose repetitions are not counted (presence still applies), see `SamplerContext.uncountedTokens`. */
    readonly uncounted: Int32Array;
}

/** Throws a `BotError` `sampling/invalid_options` listing every problem with `options`. */
export function engineSampling(options: SamplingOptions, nVocab: number, uncountedTokens: ReadonlySet<number> = new Set()): EngineSampling {
    const problems = samplingOptionProblems(options);
    if (problems.length > 0) throw new BotError("sampling/invalid_options", `invalid sampling options: ${problems.join("; ")}`);
    const inVocab = (id: number): boolean => id < nVocab;
    return Object.freeze({
        temperature: options.temperature,
        topP: options.topP,
        topK: options.topK,
        presencePenalty: options.presencePenalty,
        frequencyPenalty: options.frequencyPenalty,
        penaltyDecay: options.penaltyDecay,
        banned: Int32Array.from(options.bannedTokens.filter(inVocab)),
        uncounted: Int32Array.from([...uncountedTokens].filter(inVocab)),
    });
}
