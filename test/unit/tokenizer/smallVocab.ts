import {Tokenizer} from "../../../src/inference/Tokenizer.ts";

/** The 256 single-byte lines as upstream writes them: str literals below 0x80, bytes literals above. */
function byteLines(): string[] {
    const lines: string[] = [];
    for (let byte = 0; byte < 256; byte += 1) {
        const hex = byte.toString(16).padStart(2, "0");
        let literal: string;
        if (byte >= 0x80) literal = `b'\\x${hex}'`;
        else if (byte === 0x27) literal = `"'"`;
        else if (byte === 0x5c) literal = `'\\\\'`;
        else if (byte < 0x20 || byte === 0x7f) literal = `'\\x${hex}'`;
        else literal = `'${String.fromCharCode(byte)}'`;
        lines.push(`${byte + 1} ${literal} 1`);
    }
    return lines;
}

/**
 * A small World-format vocabulary file: the single bytes (byte `b` is id `b + 1`, as in the
 * real one), then `extra` Python literals with their byte lengths, from id 257.
 */
export function smallVocabText(extra: readonly (readonly [literal: string, byteLength: number])[] = []): string {
    const lines = byteLines();
    for (const [literal, length] of extra) lines.push(`${lines.length + 1} ${literal} ${length}`);
    return `${lines.join("\n")}\n`;
}

/** A tokenizer over {@link smallVocabText}. */
export function smallTokenizer(extra: readonly (readonly [literal: string, byteLength: number])[] = []): Tokenizer {
    return Tokenizer.fromVocabFile(Buffer.from(smallVocabText(extra), "utf8"), "small-vocab.txt");
}
