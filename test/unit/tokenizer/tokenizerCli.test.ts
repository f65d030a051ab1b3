import {mkdtempSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, describe, expect, it} from "vitest";
import {runCli} from "../../helpers/runCli.ts";
import {worldVocabPath} from "../../../src/inference/worldVocab.ts";
import {cutWorldVocab} from "../../helpers/cutWorldVocab.ts";
import {fixturesDir} from "../../helpers/fixtures.ts";

interface Golden {
    encode: {text: string; ids: number[]}[];
    encode_fuzz: {text: string; ids: number[]}[];
    decode: {ids: number[]; upstream_decode: string}[];
}

const golden = JSON.parse(readFileSync(join(fixturesDir, "tokenizer/tokenizer_golden.json"), "utf8")) as Golden;
const lines = (text: string): string[] => text.split("\n").slice(0, -1);

// The CLI contract used by external checks.
describe("cli tokenize / detokenize", () => {
    const path = worldVocabPath;

    it("tokenize --jsonl prints each golden string's ids, one line each", async () => {
        const cases = [...golden.encode, ...golden.encode_fuzz];
        const result = await runCli(["tokenize", "--vocab", path, "--jsonl"], cases.map((c) => `${JSON.stringify(c.text)}\n`).join(""));
        expect(result.code, result.stderr).toBe(0);
        expect(lines(result.stdout).map((line) => JSON.parse(line) as number[])).toEqual(cases.map((c) => c.ids));
    });

    it("tokenize reads stdin as UTF-8 bytes, exactly", async () => {
        const text = golden.encode[2]!.text;
        const result = await runCli(["tokenize", "--vocab", path], text);
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual(golden.encode[2]!.ids);
    });

    it("detokenize --jsonl prints upstream's decode of each golden case", async () => {
        const result = await runCli(["detokenize", "--vocab", path, "--jsonl"], golden.decode.map((c) => `${JSON.stringify(c.ids)}\n`).join(""));
        expect(result.code, result.stderr).toBe(0);
        expect(lines(result.stdout).map((line) => JSON.parse(line) as string)).toEqual(golden.decode.map((c) => c.upstream_decode));
    });

    it("detokenize prints the text exactly, with no newline added", async () => {
        const result = await runCli(["detokenize", "--vocab", path], JSON.stringify(golden.encode[1]!.ids));
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toBe(golden.encode[1]!.text);
    });

    it("refuses malformed input with a one-line error", async () => {
        const result = await runCli(["detokenize", "--vocab", path, "--jsonl"], "[1, 2]\n[1, \"x\"]\n");
        expect(result.code).toBe(1);
        expect(result.stderr.trim()).toBe("error: stdin line 2: expected a JSON array of integer token ids (cli/bad_input)");
    });
});

describe("cli tokenize with a bad vocabulary", () => {
    it("fails with the reason", async () => {
        const result = await runCli(["tokenize", "--vocab", join(fixturesDir, "tokenizer/tokenizer_golden.json")], "x");
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/tokenizer_golden\.json:1: .*\(tokenizer\/vocab_invalid\)/);
    });
});

describe("cli tokenize / detokenize and the World vocabulary", () => {
    const dir = mkdtempSync(join(tmpdir(), "rwkv-vocab-cli-"));
    afterAll(() => rmSync(dir, {recursive: true, force: true}));

    it("use the World vocabulary shipped in vocab/ without --vocab", async () => {
        const tokenized = await runCli(["tokenize"], "Hello world\n");
        expect(tokenized.code, tokenized.stderr).toBe(0);
        expect(JSON.parse(tokenized.stdout)).toEqual([33155, 40213, 11]);
        const detokenized = await runCli(["detokenize"], "[33155, 40213, 11]");
        expect(detokenized.stdout).toBe("Hello world\n");
    });

    it("refuse a cut copy named like the World vocabulary, with the reason, and take it with --vocab-custom", async () => {
        const path = join(dir, "rwkv_vocab_v20230424.txt");
        writeFileSync(path, cutWorldVocab(40_000));
        const refused = await runCli(["tokenize", "--vocab", path], "Hello world\n");
        expect(refused.code).toBe(1);
        expect(refused.stdout).toBe("");
        expect(refused.stderr).toMatch(/^error: the vocabulary .*rwkv_vocab_v20230424\.txt is not the RWKV World vocabulary, though it is named .*ids up to 40000, not 65529.*pass --vocab-custom if this is a custom vocabulary on purpose\. \(tokenizer\/not_world_vocab\)$/m);
        const custom = await runCli(["tokenize", "--vocab", path, "--vocab-custom"], "Hello world\n");
        expect(custom.code, custom.stderr).toBe(0);
        expect(JSON.parse(custom.stdout)).toEqual([33155, 22779, 2010, 11]);
    });

    it("name --vocab when the file is missing", async () => {
        const path = join(dir, "absent.txt");
        const result = await runCli(["detokenize", "--vocab", path], "[1]");
        expect(result.code).toBe(1);
        expect(result.stderr.trim()).toBe(`error: cannot read the vocabulary ${path} (--vocab): no such file (tokenizer/vocab_unreadable)`);
    });
});
