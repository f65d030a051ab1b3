import {describe, expect, it} from "vitest";
import {Sampler} from "../../../src/inference/Sampler.ts";
import {engineSampling} from "../../../src/inference/EngineSampling.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import type {StepItem, StepOutput} from "../../../src/core/Stepper.ts";
import type {ReplySampling} from "../../../src/session/createReplySampling.ts";
import {generateReply} from "../../../src/session/generateReply.ts";
import type {GenerateReplyOptions} from "../../../src/session/generateReply.ts";
import {smallTokenizer} from "../tokenizer/smallVocab.ts";

const tokenizer = smallTokenizer([["'\\n\\n'", 2], ["' Hello'", 6]]);
const vocabSize = tokenizer.vocabSize;

/**
 * An engine for one slot that makes the model "say" `script` (token ids), one per step: each
 * step's logits favour the next scripted id, and a step asked to sample draws from them with the
 * TS Sampler (the engine's oracle). Records what it was fed and how.
 */
class ScriptedEngine {
    readonly fed: number[] = [];
    readonly steps: {tokens: number[]; logits: string; sampled: boolean}[] = [];
    #next = 0;
    #sampler: Sampler | null = null;
    #uniform = 0;

    constructor(readonly script: readonly number[]) {}

    async step(items: readonly StepItem[]): Promise<StepOutput[]> {
        const [item] = items;
        if (item === undefined || items.length !== 1 || item.slot !== 0) throw new Error("one item for slot 0 expected");
        const tokens = Array.from(item.tokens);
        this.fed.push(...tokens);
        const mode = item.logits ?? "last";
        this.steps.push({tokens, logits: mode, sampled: item.sample !== undefined});
        if (item.sample === undefined) return [{rows: 0, logits: null, token: null}];
        const logits = new Float32Array(vocabSize);
        logits[this.script[this.#next++] ?? 1] = 10;
        if (item.sample.newReply === true || this.#sampler === null) {
            const {params} = item.sample;
            this.#sampler = new Sampler({...params, bannedTokens: [...params.banned]}, {uncountedTokens: new Set(params.uncounted), random: () => this.#uniform});
        }
        this.#uniform = item.sample.uniform;
        return [{rows: 0, logits: null, token: this.#sampler.sample(logits)}];
    }
}

const greedy = (): ReplySampling => ({params: engineSampling({...chatSamplingDefaults, temperature: 0, presencePenalty: 0, frequencyPenalty: 0}, vocabSize), random: () => 0.5});

function run(script: string, overrides: Partial<GenerateReplyOptions> = {}) {
    const engine = new ScriptedEngine(tokenizer.encode(script));
    const seen: string[] = [];
    const reply = generateReply({
        engine,
        slot: 0,
        tokenizer,
        sampling: greedy(),
        prompt: tokenizer.encode("User: hi\n\nAssistant:"),
        maxTokens: 100,
        onText: (textSoFar, delta) => {
            expect(textSoFar.endsWith(delta)).toBe(true);
            seen.push(textSoFar);
        },
        ...overrides,
    });
    return {engine, seen, reply};
}

describe("generateReply", () => {
    it("prefills in chunks, sampling after the last chunk only, and never asks for logits", async () => {
        const {engine, reply} = run(" ok\n\n", {prompt: Array.from({length: 600}, () => 98), prefillChunkTokens: 256});
        await reply;
        expect(engine.steps.slice(0, 3).map((s) => [s.tokens.length, s.sampled])).toEqual([[256, false], [256, false], [88, true]]);
        expect(engine.steps.every((s) => s.logits === "none")).toBe(true);
    });

    it("starts a reply's penalties with its first draw and takes the draws from its stream", async () => {
        const uniforms: number[] = [];
        const newReply: boolean[] = [];
        const engine = {
            step: async (items: readonly StepItem[]): Promise<StepOutput[]> => {
                const sample = items[0]!.sample;
                if (sample !== undefined) {
                    uniforms.push(sample.uniform);
                    newReply.push(sample.newReply === true);
                }
                return [{rows: 0, logits: null, token: sample === undefined ? null : 98}];
            },
        };
        let draws = 0;
        const sampling: ReplySampling = {params: engineSampling(chatSamplingDefaults, vocabSize), random: () => ++draws / 10};
        await generateReply({engine, slot: 0, tokenizer, sampling, prompt: [98], maxTokens: 3});
        expect(uniforms).toEqual([0.1, 0.2, 0.3]);
        expect(newReply).toEqual([true, false, false]);
    });

    it("ends at the blank line, never shows it, and leaves every generated token in the state", async () => {
        const {engine, seen, reply} = run(" Hello there\n\nUser:");
        const result = await reply;
        expect(result.text).toBe("Hello there");
        expect(result.stopReason).toBe("stop");
        expect(tokenizer.decode(result.tokens)).toBe(" Hello there\n\n");
        expect(seen.at(-1)).toBe("Hello there");
        expect(seen.every((text) => !text.includes("\n") && !text.startsWith(" "))).toBe(true);
        expect(engine.fed).toEqual([...tokenizer.encode("User: hi\n\nAssistant:"), ...result.tokens]);
        // Nothing is sampled after the last token.
        expect(engine.steps.at(-1)).toEqual({tokens: [result.tokens.at(-1)], logits: "none", sampled: false});
    });

    it("holds back a newline until it is known not to start the stop text", async () => {
        const {seen, reply} = run(" a\nb\n\n");
        expect((await reply).text).toBe("a\nb");
        expect(seen).toEqual(["a", "a\nb"]);
    });

    it("finds a stop text split over two tokens", async () => {
        const engine = new ScriptedEngine([...tokenizer.encode(" a"), 11, 11, ...tokenizer.encode("zzz")]);
        const result = await generateReply({engine, slot: 0, tokenizer, sampling: greedy(), prompt: [98], maxTokens: 50});
        expect(result).toEqual({text: "a", tokens: [...tokenizer.encode(" a"), 11, 11], stopReason: "stop"});
    });

    it("shows a character spread over several tokens only once it is whole", async () => {
        const {seen, reply} = run(" 🍕!\n\n");
        expect((await reply).text).toBe("🍕!");
        expect(seen).toEqual(["🍕", "🍕!"]);
    });

    it("stops at the token limit", async () => {
        const {engine, reply} = run(" one two three four\n\n", {maxTokens: 4});
        const result = await reply;
        expect(result.stopReason).toBe("length");
        expect(result.tokens).toHaveLength(4);
        expect(result.text).toBe(tokenizer.decode(result.tokens).trim());
        expect(engine.steps.at(-1)?.sampled).toBe(false);
    });

    it("stops on abort with the state holding exactly the returned tokens", async () => {
        const controller = new AbortController();
        const {engine, reply} = run(" abcdefgh\n\n", {
            signal: controller.signal,
            onText: (textSoFar) => {
                if (textSoFar === "abc") controller.abort();
            },
        });
        const result = await reply;
        expect(result).toMatchObject({text: "abc", stopReason: "aborted"});
        expect(engine.fed.slice(-result.tokens.length)).toEqual(result.tokens);
        expect(engine.fed).toHaveLength(tokenizer.encode("User: hi\n\nAssistant:").length + result.tokens.length);
    });

    it("never samples token 0 with the chat defaults", async () => {
        const engine = new ScriptedEngine([0, 0, ...tokenizer.encode("\n\n")]);
        const result = await generateReply({engine, slot: 0, tokenizer, sampling: greedy(), prompt: [98], maxTokens: 2});
        expect(result.tokens).not.toContain(0);
    });

    it("refuses an empty prompt", async () => {
        await expect(run("x", {prompt: []}).reply).rejects.toMatchObject({code: "session/empty_prompt"});
    });
});
