import type {Tokenizer} from "./Tokenizer.ts";

/**
 * Turns a stream of token ids into text that is safe to show at once: an emoji or CJK
 * character split over several byte-level tokens comes out whole, when its last byte
 * arrives. Unlike ChatRWKV's chat loop (which stops printing for good after an invalid
 * sequence), bytes that can never become valid UTF-8, and ids without bytes (0), become
 * one U+FFFD each and the stream goes on. One instance per reply.
 */
export class StreamingDecoder {
    readonly #tokenizer: Tokenizer;
    // WHATWG streaming mode holds back an incomplete trailing sequence and replaces invalid ones.
    readonly #decoder = new TextDecoder("utf-8", {ignoreBOM: true});

    constructor(tokenizer: Tokenizer) {
        this.#tokenizer = tokenizer;
    }

    /** Adds one token; returns the text completed by it (often `""` inside a multi-byte character). */
    push(id: number): string {
        const bytes = this.#tokenizer.tokenBytes(id);
        // An id without bytes breaks any pending partial character: flush it, then mark the id.
        if (bytes === undefined) return `${this.#decoder.decode()}\ufffd`;
        return this.#decoder.decode(bytes, {stream: true});
    }

    /** Ends the stream: returns U+FFFD for a dangling incomplete character, else `""`. Resets the decoder. */
    flush(): string {
        return this.#decoder.decode();
    }
}
