import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {StepItem, Stepper} from "../../src/core/Stepper.ts";
import type {RwkvEngine} from "../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {chatSamplingDefaults} from "../../src/inference/SamplingOptions.ts";
import {BatchDispatcher} from "../../src/scheduler/BatchDispatcher.ts";
import {createReplySampling} from "../../src/session/createReplySampling.ts";
import {generateReply} from "../../src/session/generateReply.ts";
import {smallTokenizer} from "../unit/tokenizer/smallVocab.ts";
import {modelPath} from "./engineFixtures.ts";

const chunk = 64;
const tokenizer = smallTokenizer();
const greedy = {...chatSamplingDefaults, temperature: 0};

describe("continuous batching on the real engine", () => {
    let model: RwkvModel;
    let engine: RwkvEngine;
    beforeAll(async () => {
        model = await RwkvModel.load(modelPath("tiny-L3-C128-V1024.fp32.pth"), {precision: "fp32", threads: 1});
        engine = await model.createEngine({slots: 3, threads: 1, maxBatchTokens: 512});
    });
    afterAll(() => model?.dispose());

    async function reply(stepper: Stepper, slot: number, prompt: string): Promise<readonly number[]> {
        const result = await generateReply({
            engine: stepper, slot, tokenizer, sampling: createReplySampling(greedy, tokenizer, engine.info.nVocab),
            prompt: tokenizer.encode(prompt), maxTokens: 40, stop: [], prefillChunkTokens: chunk,
        });
        return result.tokens;
    }

    it("a huge paste delays the others' decode steps by at most one chunk each, and changes no token", async () => {
        const paste = "a long pasted log line, over and over; ".repeat(80);
        await engine.importState(0, null);
        await engine.importState(1, null);
        const shortAlone = await reply(engine, 0, "User: hi\n\nAssistant:");
        const pasteAlone = await reply(engine, 1, paste);

        const steps: {slot: number, tokens: number}[][] = [];
        const spy = {step: (items: readonly StepItem[]) => {
            steps.push(items.map((item) => ({slot: item.slot, tokens: item.tokens.length})));
            return engine.step(items);
        }};
        const dispatcher = new BatchDispatcher(spy, {maxBatchTokens: 512});
        await engine.importState(0, null);
        await engine.importState(1, null);
        const [pasteTogether, shortTogether] = await Promise.all([reply(dispatcher, 1, paste), reply(dispatcher, 0, "User: hi\n\nAssistant:")]);
        expect(shortTogether).toEqual(shortAlone);
        expect(pasteTogether).toEqual(pasteAlone);

        // The paste never feeds more than one chunk per step, and the short conversation is in
        // every step from its first to its last: it is never left waiting for the paste.
        const pasteItems = steps.flat().filter((item) => item.slot === 1);
        expect(Math.max(...pasteItems.map((item) => item.tokens))).toBeLessThanOrEqual(chunk);
        expect(pasteItems.reduce((n, item) => n + item.tokens, 0)).toBe(tokenizer.encode(paste).length + 40);
        const withShort = steps.map((items) => items.some((item) => item.slot === 0));
        const first = withShort.indexOf(true);
        const last = withShort.lastIndexOf(true);
        expect(withShort.slice(first, last + 1).every(Boolean)).toBe(true);
        expect(steps.slice(first, last + 1).some((items) => items.some((item) => item.slot === 1 && item.tokens === chunk))).toBe(true);
    });
});
