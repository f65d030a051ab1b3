/** One slot's share of a {@link Stepper.step}. */
export interface StepItem {
    /** The slot to advance, in `[0, slotCount)`; distinct across the items of one step. */
    slot: number;
    /** ≥ 1 token ids in `[0, nVocab)`: a prefill chunk, or the last sampled token. */
    tokens: ArrayLike<number>;
    /**
     * - `"none"`: no logits (a prefill chunk that is not the last);
     * - `"last"`: one row, after the last token;
     * - `"all"`: one row per token, in token order.
     *
     * Defaults to `"last"`. Logits leave the engine only when asked for.
     */
    logits?: "none" | "last" | "all";
    /** Samples the next token from the row after the last token, in the engine. */
    sample?: StepSampling;
}

/**
 * The numbers that say how a token is drawn (docs/rwkv5.md §9), shared by the user-facing
 * `SamplingOptions` and the engine's `EngineSampling`. Penalties apply to tokens already
 * generated in the current reply, never to the prompt.
 */
export interface SamplingNumbers {
    /** Softmax temperature, applied after the top-p/top-k cut; `0` means greedy (argmax). */
    readonly temperature: number;
    /** Nucleus cut in [0, 1], computed at temperature 1: keep the most probable ids up to this mass. */
    readonly topP: number;
    /** Keep at most this many ids after the top-p cut; `0` disables it. */
    readonly topK: number;
    /** Subtracted from the logit of every id already generated in this reply. */
    readonly presencePenalty: number;
    /** Subtracted from a logit once per (decayed) occurrence of that id in this reply. */
    readonly frequencyPenalty: number;
    /** Every occurrence count is multiplied by this after each generated token. */
    readonly penaltyDecay: number;
}

/**
 * How the engine draws a token (rwkv5.h `rwkv5_sampling_params`) for one model:
 * `SamplingOptions` with the id lists as typed arrays, built once (`engineSampling`) and reused
 * by every step. No seed: the caller draws each step's uniform from its own seeded stream.
 */
export interface EngineSampling extends SamplingNumbers {
    /** Banned ids, inside the model's vocabulary. */
    readonly banned: Int32Array;
    /** Ids whose repetitions are not counted (presence still applies to them). */
    readonly uncounted: Int32Array;
}

/**
 * One item's draw: the parameters, the caller's uniform in [0, 1) (the engine has no random
 * generator, so a seeded caller replays exactly), and whether a reply starts here (the slot's
 * penalty counts are cleared first). The engine counts every token it samples in the slot until
 * the next `newReply`, a state import or a reset; the counts are not part of the exported state.
 */
export interface StepSampling {
    readonly params: EngineSampling;
    readonly uniform: number;
    readonly newReply?: boolean;
}

/** The result of one {@link StepItem}. */
export interface StepOutput {
    /** Rows of logits (0 when none were asked for). */
    rows: number;
    /** `rows × nVocab` floats, row-major (raw, before penalties and bans); null when none were asked for. */
    logits: Float32Array | null;
    /** The sampled token; null when the item did not ask for one. */
    token: number | null;
}

/**
 * Whatever advances engine slots by tokens: the engine itself (one batched forward pass per
 * call) or the scheduler's batcher (the items join a shared step). Session code is written
 * against this, so it neither knows nor calls the scheduler.
 */
export interface Stepper {
    /**
     * Advances each item's slot by its tokens, exactly as if fed one by one.
     * @returns one output per item, in item order.
     */
    step(items: readonly StepItem[]): Promise<StepOutput[]>;
}
