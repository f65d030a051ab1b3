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
     * Defaults to `"last"`.
     */
    logits?: "none" | "last" | "all";
}

/** The result of one {@link StepItem}. */
export interface StepOutput {
    /** Rows of logits (0 when none were asked for). */
    rows: number;
    /** `rows × nVocab` floats, row-major; null when none were asked for. */
    logits: Float32Array | null;
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
