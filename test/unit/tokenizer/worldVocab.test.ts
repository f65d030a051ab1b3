import {createHash} from "node:crypto";
import {readFileSync} from "node:fs";
import {describe, expect, it} from "vitest";
import {TokenizerError} from "../../../src/errors/BotError.ts";
import {Tokenizer} from "../../../src/inference/Tokenizer.ts";
import {checkWorldVocab, worldModelRows, worldVocabPath, worldVocabSha256} from "../../../src/inference/worldVocab.ts";
import type {VocabUse} from "../../../src/inference/worldVocab.ts";
import {cutWorldVocab as cutWorld} from "../../helpers/cutWorldVocab.ts";
import {smallVocabText} from "./smallVocab.ts";

const world = readFileSync(worldVocabPath);

const settings = {path: "RWKV_VOCAB", custom: "set RWKV_VOCAB_CUSTOM=1"};

function use(file: Uint8Array, path: string, more: Partial<VocabUse> = {}): VocabUse {
    const tokenizer = Tokenizer.fromVocabFile(file, path);
    return {path, sha256: tokenizer.sha256, vocabSize: tokenizer.vocabSize, custom: false, settings, ...more};
}

function refusal(vocab: VocabUse): TokenizerError {
    try {
        checkWorldVocab(vocab);
    } catch (error) {
        expect(error).toBeInstanceOf(TokenizerError);
        return error as TokenizerError;
    }
    throw new Error(`${vocab.path} was accepted`);
}

describe("the World vocabulary shipped in vocab/", () => {
    it("is the upstream file, by its SHA-256", () => {
        expect(createHash("sha256").update(world).digest("hex")).toBe(worldVocabSha256);
        expect(Tokenizer.fromVocabFile(world, worldVocabPath).sha256).toBe(worldVocabSha256);
    });

    it("passes with a World model", () => {
        expect(() => checkWorldVocab(use(world, worldVocabPath, {modelRows: worldModelRows}))).not.toThrow();
    });
});

describe("checkWorldVocab", () => {
    // Why the checksum: a cut copy parses and tokenizes, differently (the example).
    it("is needed: a copy cut at a line boundary loads and tokenizes differently", () => {
        expect(Tokenizer.fromVocabFile(world, "world").encode("Hello world\n")).toEqual([33155, 40213, 11]);
        expect(Tokenizer.fromVocabFile(cutWorld(40_000), "cut").encode("Hello world\n")).toEqual([33155, 22779, 2010, 11]);
    });

    it.each([40_000, 65_000])("refuses a copy cut to %i lines under the World vocabulary's name", (lines) => {
        const error = refusal(use(cutWorld(lines), "/models/rwkv_vocab_v20230424.txt"));
        expect(error.code).toBe("tokenizer/not_world_vocab");
        expect(error.message).toContain("/models/rwkv_vocab_v20230424.txt is not the RWKV World vocabulary, though it is named rwkv_vocab_v20230424.txt");
        expect(error.message).toContain(`not ${worldVocabSha256.slice(0, 16)}…, and it has ids up to ${lines}, not 65529`);
        expect(error.message).toContain("leave RWKV_VOCAB unset), or set RWKV_VOCAB_CUSTOM=1");
    });

    it("refuses a differing copy under any name when the model has the World vocabulary's 65536 rows", () => {
        const error = refusal(use(cutWorld(65_000), "/v/mine.txt", {modelRows: 65536}));
        expect(error.message).toContain("though the model has 65536 token rows, a World model's");
    });

    it("refuses an edited copy of the same size, without talking of ids", () => {
        const edited = Buffer.from(world);
        const at = edited.indexOf("\n1000 ") + 1;
        const line = edited.subarray(at, edited.indexOf(0x0a, at)).toString("latin1");
        expect(line).toMatch(/^1000 '(.)(.)' 2$/);
        edited.write(`1000 '${line[7]}${line[6]}' 2`, at, "latin1");
        const error = refusal(use(edited, "/v/rwkv_vocab_v20230424.txt"));
        expect(error.message).not.toContain("ids up to");
    });

    it("lets a differing copy through when a custom vocabulary is asked for", () => {
        expect(() => checkWorldVocab(use(cutWorld(65_000), "/v/rwkv_vocab_v20230424.txt", {modelRows: 65536, custom: true}))).not.toThrow();
    });

    it("lets through a vocabulary that claims nothing: another name, another model", () => {
        expect(() => checkWorldVocab(use(cutWorld(65_000), "/v/mine.txt"))).not.toThrow();
        expect(() => checkWorldVocab(use(Buffer.from(smallVocabText()), "/v/bytes.txt", {modelRows: 1024}))).not.toThrow();
    });
});
