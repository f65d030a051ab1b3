import {BotError} from "../errors/BotError.ts";
import {Nucleus} from "./Nucleus.ts";
import {samplingOptionProblems} from "./SamplingOptions.ts";
import type {SamplingOptions} from "./SamplingOptions.ts";
import {seededUniform} from "./seededUniform.ts";

/** The probabilities a draw chooses from: the kept ids by probability (descending; ties by id), summing to 1. */
export interface TokenDistribution {
    readonly ids: Int32Array;
    readonly probs: Float64Array;
}

/** Extra behaviour of a {@link Sampler} that depends on the vocabulary. */
export interface SamplerContext {
    /**
     * Ids whose repetition is not counted (ChatRWKV adds 0 instead of 1 for tokens whose text
     * is a substring of `" \t0123456789"`); presence still applies to them once generated.
     */
    readonly uncountedTokens?: ReadonlySet<number>;
    /** The uniform draws in [0, 1); defaults to {@link seededUniform} of the options' seed. */
    readonly random?: () => number;
}

/**
 * ChatRWKV's sampling (docs/rwkv5.md §9):
 * penalties and bans on the logits, then softmax, the top-p cut at temperature 1, top-k,
 * temperature, normalise, and a seeded draw. One per conversation; {@link Sampler.reset} at each new reply.
 * The engine samples the same way (rwkv5.h `rwkv5_sampling_params`); this is its oracle in the tests.
 */
export class Sampler {
    /** The options this sampler was built with. */
    readonly options: SamplingOptions;
    readonly #uncounted: ReadonlySet<number>;
    readonly #occurrence = new Map<number, number>();
    readonly #random: () => number;
    readonly #nucleus = new Nucleus();
    #weights = new Float64Array(0);

    /** Throws a `BotError` `sampling/invalid_options` listing every problem with `options`. */
    constructor(options: SamplingOptions, context: SamplerContext = {}) {
        const problems = samplingOptionProblems(options);
        if (problems.length > 0) throw new BotError("sampling/invalid_options", `invalid sampling options: ${problems.join("; ")}`);
        this.options = options;
        this.#uncounted = context.uncountedTokens ?? new Set();
        this.#random = context.random ?? seededUniform(options.seed);
    }

    /** Forgets the tokens generated so far (penalties start afresh); the random stream goes on. */
    reset(): void {
        this.#occurrence.clear();
    }

    /**
     * Picks the next token from `logits` (one row, length = the model's vocabulary) and
     * records it for the penalties. **Modifies `logits` in place** (penalties and bans).
     */
    sample(logits: Float32Array): number {
        this.penalize(logits);
        let token: number;
        if (this.options.temperature === 0) {
            token = argmax(logits);
        } else {
            const count = this.#nucleus.select(logits, this.options.topP, this.options.topK);
            const total = this.#weigh(count);
            const ids = this.#nucleus.ids;
            const weights = this.#weights;
            // One random number and the same subtractions in the same order as ever, so a seed keeps its tokens.
            let u = this.#random();
            // Rounding can leave u ≥ 0 after the last subtraction: fall back to the least likely
            // id that has any weight, never to a banned (zero-probability) one kept by a top-p of 1.
            let last = count - 1;
            while (last > 0 && (weights[last] as number) === 0) last -= 1;
            token = ids[last] as number;
            for (let i = 0; i < count; i += 1) {
                u -= (weights[i] as number) / total;
                if (u < 0) {
                    token = ids[i] as number;
                    break;
                }
            }
        }
        this.accept(token);
        return token;
    }

    /** Applies the repetition penalties of the tokens generated so far, and the bans, to `logits` in place. */
    penalize(logits: Float32Array): void {
        const {presencePenalty, frequencyPenalty} = this.options;
        for (const [id, count] of this.#occurrence) {
            if (id < logits.length) logits[id] = (logits[id] as number) - (presencePenalty + count * frequencyPenalty);
        }
        for (const id of this.options.bannedTokens) {
            if (id < logits.length) logits[id] = -Infinity;
        }
    }

    /**
     * Records `token` as generated: decays every occurrence count, then counts the token.
     * {@link Sampler.sample} does it; call it directly to force a token (teacher forcing).
     */
    accept(token: number): void {
        const decay = this.options.penaltyDecay;
        for (const [id, count] of this.#occurrence) this.#occurrence.set(id, count * decay);
        const weight = this.#uncounted.has(token) ? 0 : 1;
        this.#occurrence.set(token, (this.#occurrence.get(token) ?? 0) + weight);
    }

    /**
     * The probability vector just before the draw (upstream `sample_logits`), for `logits` as
     * given (no penalties applied here). Temperature 0 keeps the highest logit(s).
     * The top-p cut reproduces upstream's float32 arithmetic, so the kept set matches exactly.
     */
    distribution(logits: Float32Array): TokenDistribution {
        if (this.options.temperature === 0) {
            const best = logits[argmax(logits)] as number;
            const ids = Int32Array.from(indicesWhere(logits, (value) => value === best));
            return {ids, probs: new Float64Array(ids.length).fill(1 / ids.length)};
        }
        const count = this.#nucleus.select(logits, this.options.topP, this.options.topK);
        const total = this.#weigh(count);
        const probs = new Float64Array(count);
        for (let i = 0; i < count; i += 1) probs[i] = (this.#weights[i] as number) / total;
        return {ids: this.#nucleus.ids.slice(0, count), probs};
    }

    /**
     * The temperature-adjusted weights of the `count` kept ids, in draw order, into a reused buffer;
     * returns their sum (in that order, as the draw's normalisation always has).
     */
    #weigh(count: number): number {
        if (this.#weights.length < count) this.#weights = new Float64Array(this.#nucleus.probs.length);
        const {temperature} = this.options;
        const probs = this.#nucleus.probs;
        const weights = this.#weights;
        let total = 0;
        for (let i = 0; i < count; i += 1) {
            const p = probs[i] as number;
            const weight = temperature === 1 ? p : Math.fround(p ** (1 / temperature));
            weights[i] = weight;
            total += weight;
        }
        return total;
    }
}

function argmax(values: Float32Array): number {
    let best = 0;
    for (let i = 1; i < values.length; i += 1) {
        if ((values[i] as number) > (values[best] as number)) best = i;
    }
    return best;
}

function* indicesWhere(values: Float32Array, predicate: (value: number) => boolean): Generator<number> {
    for (let i = 0; i < values.length; i += 1) if (predicate(values[i] as number)) yield i;
}
