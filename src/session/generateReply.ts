import {BotError} from "../errors/BotError.ts";
import type {StepSampling, Stepper} from "../core/Stepper.ts";
import {StreamingDecoder} from "../inference/StreamingDecoder.ts";
import type {Tokenizer} from "../inference/Tokenizer.ts";
import type {ReplySampling} from "./createReplySampling.ts";
import {prefill} from "./prefill.ts";

/** Why a reply ended: its stop text, the token limit, or the caller's signal. */
export type ReplyStopReason = "stop" | "length" | "aborted";

/** What {@link generateReply} needs: an engine slot holding the conversation, and the turn. */
export interface GenerateReplyOptions {
    /** The engine, or anything that steps a slot the same way (e.g. a scheduler's batching facade). */
    readonly engine: Stepper;
    /** The slot whose state holds the conversation so far; it advances in place. */
    readonly slot: number;
    readonly tokenizer: Tokenizer;
    /** How the engine draws each token; its penalties count this reply's tokens only. */
    readonly sampling: ReplySampling;
    /** Token ids to feed before generating (the formatted turn); at least one. */
    readonly prompt: readonly number[];
    /** Most tokens to generate. */
    readonly maxTokens: number;
    /** Texts that end the reply; never posted. Defaults to `["\n\n"]`. */
    readonly stop?: readonly string[];
    /** Prompt tokens per engine step. Defaults to 256. */
    readonly prefillChunkTokens?: number;
    /** Ends the reply early, with stop reason `"aborted"`, at the next token boundary. */
    readonly signal?: AbortSignal;
    /**
     * Called whenever more of the reply can be shown: leading whitespace, incomplete
     * characters and a possible beginning of a stop text are held back.
     */
    readonly onText?: (textSoFar: string, delta: string) => void;
}

/** A finished reply. On return the slot's state has consumed the prompt and exactly `tokens`. */
export interface GeneratedReply {
    /** The reply to post: stop text removed, trimmed; a reply cut inside a character ends with U+FFFD. */
    readonly text: string;
    /** Every generated token, the stop text's included. */
    readonly tokens: readonly number[];
    readonly stopReason: ReplyStopReason;
}

/**
 * Generates one reply: prefills the prompt in chunks, then feeds one token at a time, each step
 * sampling the next in the engine, until a stop text appears in the decoded reply, `maxTokens`
 * is reached, or `signal` aborts. Engine failures reject with the engine's error.
 */
export async function generateReply(options: GenerateReplyOptions): Promise<GeneratedReply> {
    const {engine, slot, sampling, prompt, maxTokens, signal, onText} = options;
    const stop = options.stop ?? ["\n\n"];
    const chunkSize = options.prefillChunkTokens ?? 256;
    if (prompt.length === 0) throw new BotError("session/empty_prompt", "a reply needs at least one prompt token");
    // A greedy draw takes no uniform, so a seeded stream gives the same tokens as it always has.
    const draw = (newReply: boolean): StepSampling => ({
        params: sampling.params, uniform: sampling.params.temperature === 0 ? 0 : sampling.random(), newReply,
    });

    let next = maxTokens > 0 ? await prefill(engine, slot, prompt, chunkSize, draw(true)) : await prefill(engine, slot, prompt, chunkSize);

    const decoder = new StreamingDecoder(options.tokenizer);
    const tokens: number[] = [];
    const longestStop = Math.max(0, ...stop.map((text) => text.length));
    let raw = "";
    let shown = "";
    const show = (visible: string): void => {
        const textSoFar = visible.trimStart();
        if (textSoFar.length > shown.length && textSoFar.startsWith(shown)) {
            const delta = textSoFar.slice(shown.length);
            shown = textSoFar;
            onText?.(textSoFar, delta);
        }
    };
    const finish = (text: string, stopReason: ReplyStopReason): GeneratedReply => {
        show(text.trimEnd());
        return {text: text.trim(), tokens, stopReason};
    };

    for (;;) {
        if (signal?.aborted) return finish(raw + decoder.flush(), "aborted");
        if (tokens.length >= maxTokens) return finish(raw + decoder.flush(), "length");
        if (next === null) throw new BotError("session/no_token", "the engine returned no sampled token");
        const token = next;
        const scanFrom = Math.max(0, raw.length - longestStop + 1);
        raw += decoder.push(token);
        const stopAt = firstStop(raw, stop, scanFrom);
        const ending = stopAt >= 0 || tokens.length + 1 >= maxTokens;
        // The last token is fed without a draw: nothing is sampled after it.
        const [output] = await engine.step([ending ? {slot, tokens: [token], logits: "none"} : {slot, tokens: [token], logits: "none", sample: draw(false)}]);
        tokens.push(token);
        if (stopAt >= 0) return finish(raw.slice(0, stopAt), "stop");
        show(raw.slice(0, raw.length - heldBack(raw, stop)));
        if (!ending) next = output?.token ?? null;
    }
}


function firstStop(text: string, stop: readonly string[], from: number): number {
    let first = -1;
    for (const candidate of stop) {
        const at = text.indexOf(candidate, from);
        if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    return first;
}

/** Length of the longest end of `text` that could still grow into a stop text. */
function heldBack(text: string, stop: readonly string[]): number {
    let longest = 0;
    for (const candidate of stop) {
        for (let length = Math.min(candidate.length - 1, text.length); length > longest; length -= 1) {
            if (text.endsWith(candidate.slice(0, length))) {
                longest = length;
                break;
            }
        }
    }
    return longest;
}
