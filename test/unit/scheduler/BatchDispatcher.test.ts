import {describe, expect, it} from "vitest";
import {EngineError} from "../../../src/errors/BotError.ts";
import type {StepItem, StepOutput} from "../../../src/core/Stepper.ts";
import {engineSampling} from "../../../src/inference/EngineSampling.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import {BatchDispatcher} from "../../../src/scheduler/BatchDispatcher.ts";

/**
 * A fake engine whose logits row is [slot, tokens fed in this item, last token] and whose sampled
 * token is 1000 + the last token fed; it records each batch.
 */
class RecordingEngine {
    readonly batches: {slot: number; tokens: number[]; logits: string; sampled: boolean}[][] = [];
    failOnToken: number | null = null;

    async step(items: readonly StepItem[]): Promise<StepOutput[]> {
        this.batches.push(items.map((item) => ({slot: item.slot, tokens: Array.from(item.tokens), logits: item.logits ?? "last", sampled: item.sample !== undefined})));
        if (this.failOnToken !== null && items.some((item) => Array.from(item.tokens).includes(this.failOnToken!))) {
            throw new EngineError("engine/invalid_argument", "bad token");
        }
        return items.map((item) => {
            const tokens = Array.from(item.tokens);
            const token = item.sample === undefined ? null : 1000 + tokens.at(-1)!;
            if (item.logits === "none") return {rows: 0, logits: null, token};
            if (item.logits === "all") return {rows: tokens.length, logits: Float32Array.from(tokens.flatMap((t) => [item.slot, 1, t])), token};
            return {rows: 1, logits: Float32Array.of(item.slot, tokens.length, tokens.at(-1)!), token};
        });
    }
}

const sample = {params: engineSampling(chatSamplingDefaults, 2000), uniform: 0.5};

describe("BatchDispatcher", () => {
    it("puts the requests of many slots into one engine step and gives each its own output", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 64});
        const outputs = await Promise.all([0, 1, 2].map((slot) => dispatcher.step([{slot, tokens: [10 + slot]}])));
        expect(engine.batches).toHaveLength(1);
        expect(outputs.map(([output]) => Array.from(output!.logits!))).toEqual([[0, 1, 10], [1, 1, 11], [2, 1, 12]]);
        expect(dispatcher.stats).toMatchObject({steps: 1, tokens: 3});
    });

    it("cuts a long prefill into budget-sized slices, decodes of others riding along in every step", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 8});
        const prompt = Array.from({length: 20}, (_, i) => i);
        const long = dispatcher.step([{slot: 0, tokens: prompt}]);
        const decodes = (async () => {
            for (let i = 0; i < 5; i++) await dispatcher.step([{slot: 1, tokens: [100 + i]}]);
        })();
        const [output] = await long;
        await decodes;
        // 7 + 7 + 6 prompt tokens, each step also carrying slot 1's decode token.
        expect(engine.batches.slice(0, 3).map((batch) => batch.map((item) => item.tokens.length))).toEqual([[7, 1], [7, 1], [6, 1]]);
        expect(engine.batches.slice(0, 2).every((batch) => batch[0]!.logits === "none")).toBe(true);
        expect(Array.from(output!.logits!)).toEqual([0, 6, 19]);
        expect(engine.batches.flat().filter((item) => item.slot === 0).flatMap((item) => item.tokens)).toEqual(prompt);
    });

    it("joins the rows of a sliced request that wants all logits", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 2});
        const [output] = await dispatcher.step([{slot: 3, tokens: [5, 6, 7], logits: "all"}]);
        expect(output!.rows).toBe(3);
        expect(Array.from(output!.logits!)).toEqual([3, 1, 5, 3, 1, 6, 3, 1, 7]);
    });

    it("samples a sliced prefill once, after its last slice, and hands back the token", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 2});
        const [output] = await dispatcher.step([{slot: 3, tokens: [5, 6, 7], logits: "none", sample}]);
        expect(engine.batches.map((batch) => batch.map((item) => item.sampled))).toEqual([[false], [true]]);
        expect(output).toEqual({rows: 0, logits: null, token: 1007});
    });

    it("rejects only the items an engine failure concerns", async () => {
        const engine = new RecordingEngine();
        engine.failOnToken = 666;
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 64});
        const results = await Promise.allSettled([dispatcher.step([{slot: 0, tokens: [1]}]), dispatcher.step([{slot: 1, tokens: [666]}]), dispatcher.step([{slot: 2, tokens: [3]}])]);
        expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
        expect((results[1] as PromiseRejectedResult).reason).toMatchObject({code: "engine/invalid_argument"});
    });

    it("drops the queued requests of an aborted signal", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 4});
        const controller = new AbortController();
        const long = dispatcher.stepper(controller.signal).step([{slot: 0, tokens: Array.from({length: 40}, (_, i) => i)}]);
        await dispatcher.step([{slot: 1, tokens: [1]}]);
        controller.abort(new Error("reset"));
        await expect(long).rejects.toThrow("reset");
        await dispatcher.idle();
        expect(engine.batches.length).toBeLessThan(10);
        await expect(dispatcher.stepper(controller.signal).step([{slot: 0, tokens: [1]}])).rejects.toThrow("reset");
    });

    it("never puts two requests of one slot in one step", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 64});
        await Promise.all([dispatcher.step([{slot: 0, tokens: [1]}]), dispatcher.step([{slot: 0, tokens: [2]}])]);
        expect(engine.batches.map((batch) => batch.map((item) => item.tokens[0]))).toEqual([[1], [2]]);
    });

    it("holds an idle dispatcher's first step until every admitted turn has sent its request", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 64, gatherMs: 1000});
        const [a, b, c] = [dispatcher.stepper(), dispatcher.stepper(), dispatcher.stepper()];
        const first = a.step([{slot: 0, tokens: [1]}]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const second = b.step([{slot: 1, tokens: [2]}]);
        // The third turn ends without stepping (e.g. it failed): nobody is left to wait for.
        c.done();
        await Promise.all([first, second]);
        expect(engine.batches.map((batch) => batch.map((item) => item.slot))).toEqual([[0, 1]]);
    });

    it("does not hold a lone request when no turn is starting", async () => {
        const engine = new RecordingEngine();
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens: 64, gatherMs: 60_000});
        await dispatcher.step([{slot: 0, tokens: [1]}]);
        expect(engine.batches).toHaveLength(1);
    });
});
