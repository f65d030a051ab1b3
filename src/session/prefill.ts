import type {StepSampling, Stepper} from "../core/Stepper.ts";

/**
 * Feeds `tokens` into `slot` in steps of at most `chunkTokens` (the one place session code cuts
 * tokens into chunks): a long prompt or replay then shares the batcher's steps with the other
 * conversations' decodes instead of holding them up. The split does not change the state
 * (docs/rwkv5.md §6, chunked prefill).
 *
 * @returns with `sample`, the token the engine drew after the last token; else null.
 */
export async function prefill(stepper: Stepper, slot: number, tokens: ArrayLike<number>, chunkTokens: number, sample?: StepSampling): Promise<number | null> {
    let token: number | null = null;
    for (let start = 0; start < tokens.length; start += chunkTokens) {
        const end = Math.min(start + chunkTokens, tokens.length);
        const chunk = Array.prototype.slice.call(tokens, start, end) as number[];
        const last = sample !== undefined && end === tokens.length;
        const [output] = await stepper.step([last ? {slot, tokens: chunk, logits: "none", sample} : {slot, tokens: chunk, logits: "none"}]);
        if (last) token = output?.token ?? null;
    }
    return token;
}
