import {readFileSync} from "node:fs";
import {join} from "node:path";
import {beforeAll, describe, expect, it} from "vitest";
import {Tokenizer} from "../../../src/inference/Tokenizer.ts";
import {worldVocabPath} from "../../../src/inference/worldVocab.ts";
import {fixturesDir} from "../../helpers/fixtures.ts";

interface Golden {
    encode: {text: string; utf8_hex: string; ids: number[]}[];
    encode_fuzz: {text: string; utf8_hex: string; ids: number[]}[];
    decode: {ids: number[]; bytes_hex: string | null; upstream_decode: string; valid_utf8: boolean}[];
}

const golden = JSON.parse(readFileSync(join(fixturesDir, "tokenizer/tokenizer_golden.json"), "utf8")) as Golden;
describe("Tokenizer on the World vocabulary shipped in vocab/", () => {
    let tokenizer: Tokenizer;
    beforeAll(async () => {
        tokenizer = await Tokenizer.load(worldVocabPath);
    });

    it("has ids 0..65529", () => {
        expect(tokenizer.vocabSize).toBe(65530);
        expect(tokenizer.tokenBytes(0)).toBeUndefined();
        expect(tokenizer.tokenBytes(65530)).toBeUndefined();
        expect([...tokenizer.tokenBytes(65529)!]).toEqual(new Array(128).fill(0x20));
    });

    it("reads \\xNN as a raw byte in bytes literals and as a code point in str literals", () => {
        expect([...tokenizer.tokenBytes(129)!]).toEqual([0x80]);
        expect([...tokenizer.tokenBytes(2423)!]).toEqual([0xc2, 0x80]);
    });

    it.each(golden.encode.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))("encodes %s like upstream", (_, c) => {
        expect(Buffer.from(c.text, "utf8").toString("hex")).toBe(c.utf8_hex);
        expect(tokenizer.encode(c.text)).toEqual(c.ids);
        expect(tokenizer.encodeBytes(Buffer.from(c.utf8_hex, "hex"))).toEqual(c.ids);
    });

    it("encodes all 40 fuzz strings like upstream", () => {
        expect(golden.encode_fuzz).toHaveLength(40);
        for (const c of golden.encode_fuzz) expect(tokenizer.encode(c.text)).toEqual(c.ids);
    });

    it("encodes the seed markers as plain text", () => {
        expect(tokenizer.encode("<s>")).toEqual([61, 116, 63]);
        expect(tokenizer.encode("</s>")).toEqual([754, 116, 63]);
    });

    it("round-trips every golden string", () => {
        for (const c of [...golden.encode, ...golden.encode_fuzz]) expect(tokenizer.decode(tokenizer.encode(c.text))).toBe(c.text);
    });

    it.each(golden.decode.map((c) => [JSON.stringify(c.ids).slice(0, 60), c] as const))("decodes %s like upstream", (_, c) => {
        expect(tokenizer.decode(c.ids)).toBe(c.upstream_decode);
        const bytes = tokenizer.decodeBytes(c.ids);
        expect(bytes === undefined ? null : Buffer.from(bytes).toString("hex")).toBe(c.bytes_hex);
    });

    it("keeps a leading U+FEFF when decoding, as Python does", () => {
        expect(tokenizer.decode(tokenizer.encode("\ufeffBOM"))).toBe("\ufeffBOM");
    });
});
