import {createHash} from "node:crypto";
import {readFile} from "node:fs/promises";
import {TokenizerError} from "../errors/BotError.ts";
import {parseVocab} from "./parseVocab.ts";

const utf8Encoder = new TextEncoder();
// Python's bytes.decode("utf-8") keeps a leading U+FEFF; the WHATWG decoder drops it unless told not to.
const strictUtf8 = new TextDecoder("utf-8", {fatal: true, ignoreBOM: true});
const emptyLink = -1;

/**
 * The RWKV World tokenizer (docs/rwkv5.md §8): greedy longest byte match for encoding,
 * ChatRWKV semantics for decoding. Immutable after {@link Tokenizer.load}; safe to share.
 *
 * Encoding walks a byte trie whose edges live in one open-addressing hash table
 * (key = node·256 + byte), so a step costs one probe and no allocation.
 */
export class Tokenizer {
    /** One past the highest token id (65530 for the World vocabulary: ids 1..65529, plus 0). */
    readonly vocabSize: number;
    /** SHA-256 of the vocabulary file, hex: what identifies the World vocabulary (see worldVocab.ts). */
    readonly sha256: string;
    readonly #bytes: Uint8Array;
    readonly #offsets: Int32Array;
    readonly #rootChild: Int32Array;
    readonly #edgeKeys: Int32Array;
    readonly #edgeChild: Int32Array;
    readonly #edgeShift: number;
    readonly #nodeToken: Int32Array;

    private constructor(tokens: readonly (Uint8Array | null)[], sha256: string) {
        this.vocabSize = tokens.length;
        this.sha256 = sha256;
        let totalBytes = 0;
        for (const token of tokens) totalBytes += token?.length ?? 0;
        this.#bytes = new Uint8Array(totalBytes);
        this.#offsets = new Int32Array(tokens.length + 1);
        let offset = 0;
        tokens.forEach((token, id) => {
            this.#offsets[id] = offset;
            if (token !== null) this.#bytes.set(token, offset);
            offset += token?.length ?? 0;
        });
        this.#offsets[tokens.length] = offset;

        // At most one trie node per vocabulary byte, plus the root; the table stays under half full.
        let capacityBits = 4;
        while (1 << capacityBits < 2 * (totalBytes + 1)) capacityBits += 1;
        this.#edgeShift = 32 - capacityBits;
        this.#edgeKeys = new Int32Array(1 << capacityBits).fill(emptyLink);
        this.#edgeChild = new Int32Array(1 << capacityBits);
        this.#rootChild = new Int32Array(256).fill(emptyLink);
        this.#nodeToken = new Int32Array(totalBytes + 1);
        let nodeCount = 1;
        tokens.forEach((token, id) => {
            if (token === null) return;
            let node = 0;
            for (const byte of token) {
                let child = this.#child(node, byte);
                if (child === emptyLink) {
                    child = nodeCount++;
                    this.#link(node, byte, child);
                }
                node = child;
            }
            this.#nodeToken[node] = id;
        });
    }

    /**
     * Reads and validates a vocabulary file. Rejects with a {@link TokenizerError}:
     * `tokenizer/vocab_unreadable` when the file cannot be read (the message names `setting`, where
     * the path came from: `RWKV_VOCAB`, `--vocab`), `tokenizer/vocab_invalid` with the message
     * `<path>:<line>: <reason>` when it is not a valid World vocabulary.
     */
    static async load(path: string, setting?: string): Promise<Tokenizer> {
        let file: Uint8Array;
        try {
            file = await readFile(path);
        } catch (error) {
            const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error);
            throw new TokenizerError("tokenizer/vocab_unreadable", `cannot read the vocabulary ${path}${setting === undefined ? "" : ` (${setting})`}: ${reason}`, {cause: error});
        }
        return Tokenizer.fromVocabFile(file, path);
    }

    /** Builds a tokenizer from the bytes of a vocabulary file; `path` is only used in error messages. */
    static fromVocabFile(file: Uint8Array, path: string): Tokenizer {
        const parsed = parseVocab(file);
        if (!parsed.ok) throw new TokenizerError("tokenizer/vocab_invalid", `${path}:${parsed.line}: ${parsed.reason}`);
        return new Tokenizer(parsed.tokens, createHash("sha256").update(file).digest("hex"));
    }

    /** Token ids of `text` (UTF-8, greedy longest match; no BOS/EOS, no special tokens). */
    encode(text: string): number[] {
        return this.encodeBytes(utf8Encoder.encode(text));
    }

    /** Token ids of raw bytes (greedy longest match). Never fails: every single byte is a token. */
    encodeBytes(bytes: Uint8Array): number[] {
        const ids: number[] = [];
        const nodeToken = this.#nodeToken;
        const rootChild = this.#rootChild;
        // #child, inlined: this loop is the tokenizer's whole cost.
        const edgeKeys = this.#edgeKeys;
        const edgeChild = this.#edgeChild;
        const shift = this.#edgeShift;
        const mask = edgeKeys.length - 1;
        let position = 0;
        while (position < bytes.length) {
            let node = rootChild[bytes[position] as number] as number;
            let end = position + 1;
            let best = nodeToken[node] as number;
            for (let cursor = end; cursor < bytes.length; cursor += 1) {
                const key = node * 256 + (bytes[cursor] as number);
                let slot = Math.imul(key, 0x9e3779b1) >>> shift;
                let found = edgeKeys[slot] as number;
                while (found !== key && found !== emptyLink) {
                    slot = (slot + 1) & mask;
                    found = edgeKeys[slot] as number;
                }
                if (found === emptyLink) break;
                node = edgeChild[slot] as number;
                const id = nodeToken[node] as number;
                if (id !== 0) {
                    best = id;
                    end = cursor + 1;
                }
            }
            ids.push(best);
            position = end;
        }
        return ids;
    }

    /** The bytes of one token; `undefined` for an id without an entry (0, or out of range). */
    tokenBytes(id: number): Uint8Array | undefined {
        if (!Number.isInteger(id) || id <= 0 || id >= this.vocabSize) return undefined;
        return this.#bytes.subarray(this.#offsets[id], this.#offsets[id + 1]);
    }

    /** The concatenated bytes of `ids`; `undefined` when an id has no entry. */
    decodeBytes(ids: ArrayLike<number>): Uint8Array | undefined {
        const offsets = this.#offsets;
        let length = 0;
        for (let i = 0; i < ids.length; i += 1) {
            const id = ids[i] as number;
            if (!Number.isInteger(id) || id <= 0 || id >= this.vocabSize) return undefined;
            length += (offsets[id + 1] as number) - (offsets[id] as number);
        }
        const out = new Uint8Array(length);
        let at = 0;
        for (let i = 0; i < ids.length; i += 1) {
            const id = ids[i] as number;
            for (let from = offsets[id] as number, to = offsets[id + 1] as number; from < to; from += 1) out[at++] = this.#bytes[from] as number;
        }
        return out;
    }

    /**
     * ChatRWKV's `decode()`: the text of `ids`, or one single `"\ufffd"` for the whole call
     * when the bytes are not valid UTF-8 or an id has no entry. For streaming use
     * {@link StreamingDecoder}, which emits complete characters as they arrive.
     */
    decode(ids: ArrayLike<number>): string {
        const bytes = this.decodeBytes(ids);
        if (bytes === undefined) return "\ufffd";
        try {
            return strictUtf8.decode(bytes);
        } catch {
            return "\ufffd";
        }
    }

    #child(node: number, byte: number): number {
        if (node === 0) return this.#rootChild[byte] as number;
        const key = node * 256 + byte;
        const mask = this.#edgeKeys.length - 1;
        let slot = Math.imul(key, 0x9e3779b1) >>> this.#edgeShift;
        for (;;) {
            const found = this.#edgeKeys[slot] as number;
            if (found === key) return this.#edgeChild[slot] as number;
            if (found === emptyLink) return emptyLink;
            slot = (slot + 1) & mask;
        }
    }

    #link(node: number, byte: number, child: number): void {
        if (node === 0) {
            this.#rootChild[byte] = child;
            return;
        }
        const key = node * 256 + byte;
        const mask = this.#edgeKeys.length - 1;
        let slot = Math.imul(key, 0x9e3779b1) >>> this.#edgeShift;
        while (this.#edgeKeys[slot] !== emptyLink) slot = (slot + 1) & mask;
        this.#edgeKeys[slot] = key;
        this.#edgeChild[slot] = child;
    }
}
