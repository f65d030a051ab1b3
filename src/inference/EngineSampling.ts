import type {EngineSampling} from "../core/Stepper.ts";
import {BotError} from "../errors/BotError.ts";
import {samplingOptionProblems} from "./SamplingOptions.ts";
import type {SamplingOptions} from "./SamplingOptions.ts";

/**
 * `options` as the engine takes them for a model of `nVocab` ids: banned ids outside the model
 * are dropped (the TS `Sampler` ignores them too). Throws a `BotError` `sampling/invalid_options`
 * listing every problem with `options`.
 */
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
