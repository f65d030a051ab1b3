import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, describe, expect, it} from "vitest";
import {TokenizerError} from "../../../src/errors/BotError.ts";
import {parseVocab} from "../../../src/inference/parseVocab.ts";
import {Tokenizer} from "../../../src/inference/Tokenizer.ts";
import {smallVocabText} from "./smallVocab.ts";

const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");

function invalid(file: Uint8Array): {line: number; reason: string} {
    const result = parseVocab(file);
    if (result.ok) throw new Error("expected the vocabulary to be refused");
    return {line: result.line, reason: result.reason};
}

describe("parseVocab", () => {
    it("reads str and bytes literals with Python's escape semantics", () => {
        const result = parseVocab(utf8(smallVocabText([
            ["'\\x80'", 2], ["b'\\xe4\\xbd'", 2], ["'\\u4e2d'", 3], ["'\\U0001F355'", 4], ["'中文'", 6],
            ["'it\\'s'", 4], ["\"say \\\"hi\\\"\"", 8], ["'\\t\\n'", 2], ["'\\0\\a'", 2], ["b'\\u'", 2], ["'a b'", 3],
        ])));
        if (!result.ok) throw new Error(result.reason);
        const hex = (id: number): string => Buffer.from(result.tokens[id] as Uint8Array).toString("hex");
        expect(result.tokens[0]).toBeNull();
        expect(hex(129)).toBe("80");
        expect(hex(257)).toBe("c280");
        expect(hex(258)).toBe("e4bd");
        expect(hex(259)).toBe("e4b8ad");
        expect(hex(260)).toBe("f09f8d95");
        expect(hex(261)).toBe(utf8("中文").toString("hex"));
        expect(hex(262)).toBe(utf8("it's").toString("hex"));
        expect(hex(263)).toBe(utf8("say \"hi\"").toString("hex"));
        expect(hex(264)).toBe("090a");
        expect(hex(265)).toBe("0007");
        // An unknown escape keeps its backslash, as in Python (`\u` means nothing in bytes).
        expect(hex(266)).toBe("5c75");
        expect(hex(267)).toBe("612062");
    });

    it("accepts a file without a final newline", () => {
        expect(parseVocab(utf8(smallVocabText([]).trimEnd())).ok).toBe(true);
    });

    it.each([
        ["an id out of order", (t: string) => t.replace("\n3 '\\x02' 1\n", "\n4 '\\x02' 1\n"), 3, "id 4 where 3 was expected (ids must be contiguous from 1)"],
        ["a wrong byte length", (t: string) => t.replace("\n98 'a' 1\n", "\n98 'a' 2\n"), 98, "byte length 2 declared, the literal has 1"],
        ["a line without a literal", (t: string) => t.replace("\n98 'a' 1\n", "\n98 1\n"), 98, "expected `<id> <literal> <byte length>`"],
        ["an unquoted literal", (t: string) => t.replace("\n98 'a' 1\n", "\n98 a 1\n"), 98, "not a Python str or bytes literal: a"],
        ["a non-numeric id", (t: string) => t.replace("\n98 'a' 1\n", "\nx98 'a' 1\n"), 98, "id \"x98\" is not a number"],
        ["a non-numeric length", (t: string) => t.replace("\n98 'a' 1\n", "\n98 'a' one\n"), 98, "byte length \"one\" is not a number"],
        ["CRLF line endings", (t: string) => t.replace(/\n/g, "\r\n"), 1, "carriage return in line (CRLF line endings?)"],
        ["a lone surrogate", (t: string) => `${t}257 '\\ud800' 3\n`, 257, "lone surrogate U+D800 cannot be encoded as UTF-8"],
        ["a truncated \\x escape", (t: string) => `${t}257 'a\\x4' 2\n`, 257, "truncated \\x escape"],
        ["an unescaped quote", (t: string) => `${t}257 'a'b' 3\n`, 257, "unescaped ' inside the literal"],
        ["non-ASCII in a bytes literal", (t: string) => `${t}257 b'é' 2\n`, 257, "non-ASCII character in a bytes literal"],
        ["an empty token", (t: string) => `${t}257 '' 0\n`, 257, "empty token"],
        ["two ids with the same bytes", (t: string) => `${t}257 b'a' 1\n`, 257, "same bytes as id 98"],
        ["a missing single byte", (t: string) => t.replace("\n98 'a' 1\n", "\n98 'ab' 2\n"), 257, "byte 0x61 has no token"],
    ])("refuses %s with its line and reason", (_, corrupt, line, reason) => {
        expect(invalid(utf8(corrupt(smallVocabText([]))))).toEqual({line, reason});
    });

    it("refuses a line that is not UTF-8", () => {
        const file = Buffer.concat([utf8(smallVocabText([])), Buffer.from([0x32, 0x35, 0x37, 0x20, 0x27, 0xff, 0x27, 0x20, 0x31, 0x0a])]);
        expect(invalid(file)).toEqual({line: 257, reason: "not valid UTF-8"});
    });

    it("refuses an empty file", () => {
        expect(invalid(new Uint8Array(0))).toEqual({line: 1, reason: "the file holds no tokens"});
    });
});

describe("Tokenizer.load", () => {
    const dir = mkdtempSync(join(tmpdir(), "rwkv-vocab-"));
    afterAll(() => rmSync(dir, {recursive: true, force: true}));

    it("encodes with the longest match, falling back when a longer path has no token", async () => {
        const path = join(dir, "small.txt");
        writeFileSync(path, smallVocabText([["'ab'", 2], ["'abcd'", 4], ["'\\n\\n'", 2]]));
        const tokenizer = await Tokenizer.load(path);
        expect(tokenizer.vocabSize).toBe(260);
        expect(tokenizer.encode("abcx")).toEqual([257, 100, 121]);
        expect(tokenizer.encode("abcdab\n\n\n")).toEqual([258, 257, 259, 11]);
        expect(tokenizer.encode("")).toEqual([]);
        expect(tokenizer.decode([258, 259])).toBe("abcd\n\n");
    });

    it("names the file and line of a corrupt vocabulary", async () => {
        const path = join(dir, "corrupt.txt");
        writeFileSync(path, smallVocabText([]).replace("\n98 'a' 1\n", "\n98 'a' 7\n"));
        const error = await Tokenizer.load(path).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenizerError);
        expect(error).toMatchObject({code: "tokenizer/vocab_invalid", message: `${path}:98: byte length 7 declared, the literal has 1`});
    });

    it("reports an unreadable file, naming the setting it came from", async () => {
        const path = join(dir, "missing.txt");
        const error = await Tokenizer.load(path, "RWKV_VOCAB").catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenizerError);
        expect(error).toMatchObject({code: "tokenizer/vocab_unreadable", message: `cannot read the vocabulary ${path} (RWKV_VOCAB): no such file`});
    });
});
