import {readFileSync} from "node:fs";
import {join} from "node:path";
import {beforeAll, describe, expect, it} from "vitest";
import {StreamingDecoder} from "../../../src/inference/StreamingDecoder.ts";
import {Tokenizer} from "../../../src/inference/Tokenizer.ts";
import {worldVocabPath} from "../../../src/inference/worldVocab.ts";
import {fixturesDir} from "../../helpers/fixtures.ts";

interface DecodeCase {ids: number[]; bytes_hex: string | null; upstream_decode: string; valid_utf8: boolean}

const cases = (JSON.parse(readFileSync(join(fixturesDir, "tokenizer/tokenizer_golden.json"), "utf8")) as {decode: DecodeCase[]}).decode;

/** The text of the longest prefix of `bytes` that is valid UTF-8 and ends on a character boundary. */
function longestValidPrefix(bytes: Buffer): string {
    for (let end = bytes.length; end >= 0; end -= 1) {
        try {
            return new TextDecoder("utf-8", {fatal: true, ignoreBOM: true}).decode(bytes.subarray(0, end));
        } catch {
            // Shorter.
        }
    }
    return "";
}

function isValidSoFar(bytes: Buffer): boolean {
    try {
        new TextDecoder("utf-8", {fatal: true}).decode(bytes, {stream: true});
        return true;
    } catch {
        return false;
    }
}

describe("StreamingDecoder", () => {
    let tokenizer: Tokenizer;
    beforeAll(async () => {
        tokenizer = await Tokenizer.load(worldVocabPath);
    });

    // Cases whose bytes are valid UTF-8 or valid but for an unfinished last character (a stream cut short).
    const streamable = cases.filter((c) => c.bytes_hex !== null && isValidSoFar(Buffer.from(c.bytes_hex, "hex")));

    it.each(streamable.map((c) => [JSON.stringify(c.ids), c] as const))("streams %s without a broken character", (_, c) => {
        const decoder = new StreamingDecoder(tokenizer);
        let text = "";
        for (const id of c.ids) {
            const piece = decoder.push(id);
            expect(piece).not.toContain("\ufffd");
            text += piece;
        }
        // Before the flush: exactly the complete characters so far (upstream's text when it is valid).
        expect(text).toBe(longestValidPrefix(Buffer.from(c.bytes_hex as string, "hex")));
        if (c.valid_utf8) expect(text).toBe(c.upstream_decode);
        const tail = decoder.flush();
        expect(tail).toBe(c.valid_utf8 ? "" : "\ufffd");
    });

    it("emits a multi-token emoji whole, on its last token", () => {
        const decoder = new StreamingDecoder(tokenizer);
        expect(tokenizer.encode("🍕")).toEqual([3319, 142, 150]);
        expect([3319, 142, 150].map((id) => decoder.push(id))).toEqual(["", "", "🍕"]);
    });

    it("replaces bytes that can never be valid and goes on", () => {
        const decoder = new StreamingDecoder(tokenizer);
        expect([33, 129, 34].map((id) => decoder.push(id)).join("") + decoder.flush()).toBe(" \ufffd!");
    });

    it("marks an id without bytes and drops a partial character it interrupts", () => {
        const decoder = new StreamingDecoder(tokenizer);
        expect(decoder.push(3319)).toBe("");
        expect(decoder.push(0)).toBe("\ufffd\ufffd");
        expect(decoder.push(11)).toBe("\n");
    });

    it("streams every golden string exactly", () => {
        const all = JSON.parse(readFileSync(join(fixturesDir, "tokenizer/tokenizer_golden.json"), "utf8")) as {
            encode: {text: string; ids: number[]}[];
            encode_fuzz: {text: string; ids: number[]}[];
        };
        for (const c of [...all.encode, ...all.encode_fuzz]) {
            const decoder = new StreamingDecoder(tokenizer);
            expect(c.ids.map((id) => decoder.push(id)).join("") + decoder.flush()).toBe(c.text);
        }
    });
});
