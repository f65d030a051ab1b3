import {mkdtempSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {RwkvEngine} from "../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {Sampler} from "../../src/inference/Sampler.ts";
import {engineSampling} from "../../src/inference/EngineSampling.ts";
import {chatSamplingDefaults} from "../../src/inference/SamplingOptions.ts";
import type {SamplingOptions} from "../../src/inference/SamplingOptions.ts";
import {Tokenizer} from "../../src/inference/Tokenizer.ts";
import {chatFormats} from "../../src/session/chatFormats.ts";
import {generateReply} from "../../src/session/generateReply.ts";
import {runCli} from "../helpers/runCli.ts";
import {worldVocabPath} from "../../src/inference/worldVocab.ts";
import {cutWorldVocab} from "../helpers/cutWorldVocab.ts";
import {fixturesDir, worldModel} from "../helpers/fixtures.ts";
import {smallTokenizer} from "../unit/tokenizer/smallVocab.ts";

interface Manifest {
    tokens: number[];
    tokens_text?: string;
    greedy_generation: {presence: number; frequency: number; decay: number; tokens: number[]};
}

// docs/rwkv5.md §11 test 6: an fp32 engine must reproduce greedy_generation.tokens exactly by free-running.
const models = [
    {name: "tiny-L3-C128-V1024", model: join(fixturesDir, "models/tiny-L3-C128-V1024.fp32.pth"), golden: join(fixturesDir, "golden/tiny-L3-C128-V1024")},
    {name: "deep-L7-C64-V512", model: join(fixturesDir, "models/deep-L7-C64-V512.bf16.pth"), golden: join(fixturesDir, "golden/deep-L7-C64-V512")},
    {name: worldModel.name, model: worldModel.path, golden: worldModel.goldenDir},
];

/** Greedy with the manifest's (ChatRWKV API_DEMO_CHAT) penalties and token 0 banned. */
function goldenOptions(manifest: Manifest): SamplingOptions {
    const {presence, frequency, decay} = manifest.greedy_generation;
    return {...chatSamplingDefaults, temperature: 0, presencePenalty: presence, frequencyPenalty: frequency, penaltyDecay: decay, bannedTokens: [0]};
}

describe.each(models)("greedy generation with penalties on $name (fp32)", ({model: path, golden}) => {
    const manifest = JSON.parse(readFileSync(join(golden, "manifest.json"), "utf8")) as Manifest;
    const expected = manifest.greedy_generation.tokens;
    let model: RwkvModel;
    let engine: RwkvEngine;

    beforeAll(async () => {
        model = await RwkvModel.load(path, {precision: "fp32"});
        engine = await model.createEngine({slots: 1});
    });
    afterAll(() => model?.dispose());

    it("reproduces greedy_generation.tokens, stepping the engine and the sampler", async () => {
        await engine.importState(0, null);
        const sampler = new Sampler(goldenOptions(manifest));
        const [prefill] = await engine.step([{slot: 0, tokens: manifest.tokens}]);
        let logits = prefill?.logits as Float32Array;
        const generated: number[] = [];
        for (let i = 0; i < expected.length; i += 1) {
            const token = sampler.sample(logits);
            generated.push(token);
            const [output] = await engine.step([{slot: 0, tokens: [token]}]);
            logits = output?.logits as Float32Array;
        }
        expect(generated).toEqual(expected);
    });

    it("reproduces them through generateReply with a chunked prefill, sampled in the engine", async () => {
        await engine.importState(0, null);
        // With no stop text the reply's text plays no part: any tokenizer will do.
        const sampling = {params: engineSampling(goldenOptions(manifest), engine.info.nVocab), random: () => 0.5};
        const reply = await generateReply({
            engine, slot: 0, tokenizer: smallTokenizer(), sampling, prompt: manifest.tokens,
            maxTokens: expected.length, stop: [], prefillChunkTokens: 16,
        });
        expect(reply.stopReason).toBe("length");
        expect(reply.tokens).toEqual(expected);
    });
});

describe("the world-L2 golden prompt", () => {
    const manifest = (): Manifest => JSON.parse(readFileSync(join(worldModel.goldenDir, "manifest.json"), "utf8")) as Manifest;
    const message = "你好！Can you write a haiku about 🍕 for my Discord server? Please keep it short.";

    it("is the seed format of its message, encoded", async () => {
        const tokenizer = await Tokenizer.load(worldVocabPath);
        expect(manifest().tokens_text).toBe(chatFormats.seed.userTurn(message));
        expect(tokenizer.encode(manifest().tokens_text as string)).toEqual(manifest().tokens);
    });

    it("cli generate --temperature 0 prints the golden greedy reply", async () => {
        const tokenizer = await Tokenizer.load(worldVocabPath);
        const {tokens} = manifest().greedy_generation;
        const result = await runCli([
            "generate", "--model", worldModel.path, "--vocab", worldVocabPath, "--format", "seed",
            "--prompt", message, "--temperature", "0", "--precision", "fp32", "--max-tokens", String(tokens.length),
        ]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toBe(`${tokenizer.decode(tokens).trim()}\n`);
    });
});

describe("cli generate on a World model", () => {
    it("refuses a vocabulary that is not the World one byte for byte, whatever its name, unless --vocab-custom", async () => {
        const dir = mkdtempSync(join(tmpdir(), "rwkv-generate-"));
        try {
            const vocab = join(dir, "my-vocab.txt");
            writeFileSync(vocab, cutWorldVocab(65_000));
            const args = ["generate", "--model", worldModel.path, "--vocab", vocab, "--prompt", "Hi", "--temperature", "0", "--max-tokens", "2"];
            const refused = await runCli(args);
            expect(refused.code).toBe(1);
            expect(refused.stdout).toBe("");
            expect(refused.stderr).toMatch(/^error: the vocabulary .*my-vocab\.txt is not the RWKV World vocabulary, though the model has 65536 token rows.*\(tokenizer\/not_world_vocab\)$/m);
            const custom = await runCli([...args, "--vocab-custom"]);
            expect(custom.code, custom.stderr).toBe(0);
        } finally {
            rmSync(dir, {recursive: true, force: true});
        }
    });
});
