import {getRandomValues} from "node:crypto";
import {BotError} from "../errors/BotError.ts";
import {samplingOptionProblems} from "./SamplingOptions.ts";
import type {SamplingOptions} from "./SamplingOptions.ts";

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
}

/**
 * ChatRWKV's sampling (RWKV5.md §9):
 * penalties and bans on the logits, then softmax, the top-p cut at temperature 1, top-k,
 * temperature, normalise, and a seeded draw. One per conversation; {@link Sampler.reset} at each new reply.
 */
export class Sampler {
    /** The options this sampler was built with. */
    readonly options: SamplingOptions;
    readonly #uncounted: ReadonlySet<number>;
    readonly #occurrence = new Map<number, number>();
    readonly #random: () => number;
    #probs = new Float32Array(0);
    #bits = new Uint32Array(0);
    #candidates = new Uint32Array(0);

    /** Throws a `BotError` `sampling/invalid_options` listing every problem with `options`. */
    constructor(options: SamplingOptions, context: SamplerContext = {}) {
        const problems = samplingOptionProblems(options);
        if (problems.length > 0) throw new BotError("sampling/invalid_options", `invalid sampling options: ${problems.join("; ")}`);
        this.options = options;
        this.#uncounted = context.uncountedTokens ?? new Set();
        this.#random = xoshiro128(options.seed ?? (getRandomValues(new Uint32Array(1))[0] as number));
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
            const {ids, probs} = this.distribution(logits);
            let u = this.#random();
            token = ids[ids.length - 1] as number;
            for (let i = 0; i < ids.length; i += 1) {
                u -= probs[i] as number;
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
        const probs = this.#softmax(logits);
        // Upstream zeroes p < cutoff only, so ids tied with the cutoff survive.
        let ids = keptByProbability(probs, this.#bits, this.#cutoffBits());
        const {topK, temperature} = this.options;
        if (topK > 0 && topK < ids.length) ids = ids.slice(0, topK);
        const out = new Float64Array(ids.length);
        let total = 0;
        for (let i = 0; i < ids.length; i += 1) {
            const p = probs[ids[i] as number] as number;
            out[i] = temperature === 1 ? p : Math.fround(p ** (1 / temperature));
            total += out[i] as number;
        }
        for (let i = 0; i < ids.length; i += 1) out[i] = (out[i] as number) / total;
        return {ids, probs: out};
    }

    /** Softmax into a reused float32 buffer, like upstream's `F.softmax(logits.float())`. */
    #softmax(logits: Float32Array): Float32Array {
        if (this.#probs.length !== logits.length) {
            this.#probs = new Float32Array(logits.length);
            this.#bits = new Uint32Array(this.#probs.buffer);
            this.#candidates = new Uint32Array(logits.length);
        }
        const probs = this.#probs;
        const max = logits[argmax(logits)] as number;
        let sum = 0;
        for (let i = 0; i < logits.length; i += 1) {
            const e = Math.exp((logits[i] as number) - max);
            probs[i] = e;
            sum += e;
        }
        for (let i = 0; i < probs.length; i += 1) probs[i] = (probs[i] as number) / sum;
        return probs;
    }

    /**
     * The top-p cutoff of the probabilities last computed by {@link Sampler.#softmax}, as float32
     * bits: upstream sorts all probabilities and takes the first whose float32 running sum reaches
     * top-p. Sorting 65536 values per token is wasteful, so the mass per float32 exponent picks
     * the few ids that can matter, and only those are sorted (non-negative floats order as their bits).
     */
    #cutoffBits(): number {
        const bits = this.#bits;
        const probs = this.#probs;
        const topP = Math.fround(this.options.topP);
        const massByExponent = new Float64Array(256);
        let exponent = 0;
        for (let i = 0; i < bits.length; i += 1) {
            const bucket = (bits[i] as number) >>> 23;
            massByExponent[bucket] = (massByExponent[bucket] as number) + (probs[i] as number);
            if (bucket > exponent) exponent = bucket;
        }
        for (let mass = 0; exponent > 0; exponent -= 1) {
            mass += massByExponent[exponent] as number;
            if (mass >= topP) break;
        }
        for (;; exponent -= 1) {
            let count = 0;
            const floor = exponent << 23;
            for (let i = 0; i < bits.length; i += 1) {
                if ((bits[i] as number) >= floor) this.#candidates[count++] = bits[i] as number;
            }
            const sorted = this.#candidates.subarray(0, count).sort();
            const values = new Float32Array(sorted.buffer, 0, count);
            let cumulative = 0;
            for (let i = count - 1; i >= 0; i -= 1) {
                cumulative = Math.fround(cumulative + (values[i] as number));
                if (cumulative >= topP) return sorted[i] as number;
            }
            // Rounding can keep the float32 sum of everything just under a top-p near 1:
            // upstream then falls back to its first index (greedy), which is surely unintended; keep all.
            if (exponent === 0) return sorted[0] as number;
        }
    }
}

/** The ids whose probability's bits are ≥ `cutoff`, by probability (descending), ties by id. */
function keptByProbability(probs: Float32Array, bits: Uint32Array, cutoff: number): Int32Array {
    // One native numeric sort of keys that pack the probability's bits above the reversed id.
    const idSpan = 2 ** Math.ceil(Math.log2(probs.length + 1));
    const keys: number[] = [];
    for (let i = 0; i < bits.length; i += 1) {
        if ((bits[i] as number) >= cutoff) keys.push((bits[i] as number) * idSpan + (idSpan - 1 - i));
    }
    const sorted = Float64Array.from(keys).sort();
    const ids = new Int32Array(sorted.length);
    for (let i = 0; i < sorted.length; i += 1) ids[i] = idSpan - 1 - ((sorted[sorted.length - 1 - i] as number) % idSpan);
    return ids;
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

/** xoshiro128** seeded through splitmix32: small, fast, and identical on every platform. Returns doubles in [0, 1). */
function xoshiro128(seed: number): () => number {
    let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x85ebca6b);
    const next32 = (): number => {
        mix = (mix + 0x9e3779b9) | 0;
        let z = mix;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
        return (z ^ (z >>> 16)) >>> 0;
    };
    let a = next32();
    let b = next32();
    let c = next32();
    let d = next32();
    const step = (): number => {
        const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
        const t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = rotl(d, 11);
        return result;
    };
    return () => ((step() >>> 5) * 67108864 + (step() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
    return (x << k) | (x >>> (32 - k));
}
