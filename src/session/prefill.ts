import type {Stepper} from "../core/Stepper.ts";

/**
 * Feeds `tokens` into `slot` in steps of at most `chunkTokens` (the one place session code cuts
 * tokens into chunks): a long prompt or replay then shares the batcher's steps with the other
 * conversations' decodes instead of holding them up. The split does not change the state
 * (docs/rwkv5.md §6, chunked prefill).
 *
 * @returns the logits after the last token when `logits` is `"last"`, else null.
 */
export async function prefill(stepper: Stepper, slot: number, tokens: ArrayLike<number>, chunkTokens: number, logits: "last" | "none"): Promise<Float32Array | null> {
    let last: Float32Array | null = null;
    for (let start = 0; start < tokens.length; start += chunkTokens) {
        const end = Math.min(start + chunkTokens, tokens.length);
        const wanted = logits === "last" && end === tokens.length ? "last" : "none";
        const [output] = await stepper.step([{slot, tokens: Array.prototype.slice.call(tokens, start, end) as number[], logits: wanted}]);
        if (wanted === "last") last = output?.logits ?? null;
    }
    return last;
}
