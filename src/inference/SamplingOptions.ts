import type {SamplingNumbers} from "../core/Stepper.ts";

/**
 * How the next token is chosen from the logits (docs/rwkv5.md §9), as users and settings give it.
 */
export interface SamplingOptions extends SamplingNumbers {
    /** Ids that are never sampled (their logit becomes -∞). */
    readonly bannedTokens: readonly number[];
    /** Seed of the random draw, for reproducible replies; absent = a fresh random seed. */
    readonly seed?: number;
}

/**
 * Chat defaults: ChatRWKV `API_DEMO_CHAT.py` (temperature 1.0, top-p 0.3, presence and
 * frequency 0.5, decay 0.996, token 0 `<|endoftext|>` banned), which is also one of the
 * (temperature, top-p) pairs the Mobius 12B model card recommends.
 */
export const chatSamplingDefaults: SamplingOptions = Object.freeze({
    temperature: 1.0,
    topP: 0.3,
    topK: 0,
    presencePenalty: 0.5,
    frequencyPenalty: 0.5,
    penaltyDecay: 0.996,
    bannedTokens: Object.freeze([0]),
});

/**
 * Layers overrides (e.g. a channel's settings) on `base`; `undefined` fields keep the base
 * value. Returns the merged options, or the list of problems with them (a value, not a throw).
 */
export function mergeSamplingOptions(
    base: SamplingOptions,
    ...overrides: readonly Partial<SamplingOptions>[]
): {ok: true; options: SamplingOptions} | {ok: false; problems: string[]} {
    const merged: {-readonly [K in keyof SamplingOptions]: SamplingOptions[K]} = {...base};
    for (const override of overrides) {
        for (const [key, value] of Object.entries(override)) {
            if (value !== undefined) Object.assign(merged, {[key]: value});
        }
    }
    const problems = samplingOptionProblems(merged);
    return problems.length === 0 ? {ok: true, options: merged} : {ok: false, problems};
}

/**
 * What is wrong with `options`, one sentence per problem; empty when they are usable. `names`
 * gives the name the user wrote each option under (`SAMPLING_TOP_P`, `top_p`, `--top-p`), so the
 * sentence names what they can fix; by default the field's own name.
 */
export function samplingOptionProblems(options: SamplingOptions, names: Partial<Record<keyof SamplingOptions, string>> = {}): string[] {
    const problems: string[] = [];
    const check = (ok: boolean, key: keyof SamplingOptions, rule: string): void => {
        if (!ok) problems.push(`${names[key] ?? key} ${rule}`);
    };
    check(Number.isFinite(options.temperature) && options.temperature >= 0, "temperature", "must be a number ≥ 0");
    check(options.topP >= 0 && options.topP <= 1, "topP", "must be in [0, 1]");
    check(Number.isInteger(options.topK) && options.topK >= 0, "topK", "must be an integer ≥ 0");
    check(Number.isFinite(options.presencePenalty), "presencePenalty", "must be a finite number");
    check(Number.isFinite(options.frequencyPenalty), "frequencyPenalty", "must be a finite number");
    check(options.penaltyDecay >= 0 && options.penaltyDecay <= 1, "penaltyDecay", "must be in [0, 1]");
    check(options.bannedTokens.every((id) => Number.isInteger(id) && id >= 0), "bannedTokens", "must be token ids");
    check(options.seed === undefined || Number.isInteger(options.seed), "seed", "must be an integer");
    return problems;
}
