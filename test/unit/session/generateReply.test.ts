import {describe, expect, it} from "vitest";
import {Sampler} from "../../../src/inference/Sampler.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import type {StepItem, StepOutput} from "../../../src/core/Stepper.ts";
import {generateReply} from "../../../src/session/generateReply.ts";
import type {GenerateReplyOptions} from "../../../src/session/generateReply.ts";
import {smallTokenizer} from "../tokenizer/smallVocab.ts";

const tokenizer = smallTokenizer([["'\\n\\n'", 2], ["' Hello'", 6]]);
const vocabSize = tokenizer.vocabSize;

/**
 * An engine for one slot that makes the model "say" `script` (token ids), one per step, and
 * records what it was fed.
 */
class ScriptedEngine {
    readonly fed: number[] = [];
    readonly steps: {tokens: number[]; logits: string}[] = [];
    #next = 0;

    constructor(readonly script: readonly number[]) {}

    async step(items: readonly StepItem[]): Promise<StepOutput[]> {
        const [item] = items;
        if (item === undefined || items.length !== 1 || item.slot !== 0) throw new Error("one item for slot 0 expected");
        const tokens = Array.from(item.tokens);
        this.fed.push(...tokens);
        const mode = item.logits ?? "last";
        this.steps.push({tokens, logits: mode});
        if (mode === "none") return [{rows: 0, logits: null}];
        const logits = new Float32Array(vocabSize);
        logits[this.script[this.#next++] ?? 1] = 10;
        return [{rows: 1, logits}];
    }
}

const greedy = (): Sampler => new Sampler({...chatSamplingDefaults, temperature: 0, presencePenalty: 0, frequencyPenalty: 0});

function run(script: string, overrides: Partial<GenerateReplyOptions> = {}) {
    const engine = new ScriptedEngine(tokenizer.encode(script));
    const seen: string[] = [];
    const reply = generateReply({
        engine,
        slot: 0,
        tokenizer,
        sampler: greedy(),
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
    it("prefills in chunks, asking logits of the last chunk only", async () => {
        const {engine, reply} = run(" ok\n\n", {prompt: Array.from({length: 600}, () => 98), prefillChunkTokens: 256});
        await reply;
        expect(engine.steps.slice(0, 3).map((s) => [s.tokens.length, s.logits])).toEqual([[256, "none"], [256, "none"], [88, "last"]]);
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
        // The last token needs no logits: nothing is sampled after it.
        expect(engine.steps.at(-1)).toEqual({tokens: [result.tokens.at(-1)], logits: "none"});
    });

    it("holds back a newline until it is known not to start the stop text", async () => {
        const {seen, reply} = run(" a\nb\n\n");
        expect((await reply).text).toBe("a\nb");
        expect(seen).toEqual(["a", "a\nb"]);
    });

    it("finds a stop text split over two tokens", async () => {
        const engine = new ScriptedEngine([...tokenizer.encode(" a"), 11, 11, ...tokenizer.encode("zzz")]);
        const result = await generateReply({engine, slot: 0, tokenizer, sampler: greedy(), prompt: [98], maxTokens: 50});
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
        expect(engine.steps.at(-1)?.logits).toBe("none");
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
        const result = await generateReply({engine, slot: 0, tokenizer, sampler: greedy(), prompt: [98], maxTokens: 2});
        expect(result.tokens).not.toContain(0);
    });

    it("refuses an empty prompt", async () => {
        await expect(run("x", {prompt: []}).reply).rejects.toMatchObject({code: "session/empty_prompt"});
    });
});
