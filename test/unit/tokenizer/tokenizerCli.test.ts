import {readFileSync} from "node:fs";
import {join} from "node:path";
import {describe, expect, it} from "vitest";
import {runCli} from "../../helpers/runCli.ts";
import {fixturesDir, worldVocab} from "./sharedRwkv.ts";

interface Golden {
    encode: {text: string; ids: number[]}[];
    encode_fuzz: {text: string; ids: number[]}[];
    decode: {ids: number[]; upstream_decode: string}[];
}

const golden = JSON.parse(readFileSync(join(fixturesDir, "tokenizer/tokenizer_golden.json"), "utf8")) as Golden;
const vocab = worldVocab();
const lines = (text: string): string[] => text.split("\n").slice(0, -1);

// The CLI contract used by external checks.
describe.skipIf(vocab.path === undefined)("cli tokenize / detokenize", () => {
    const path = vocab.path as string;

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
