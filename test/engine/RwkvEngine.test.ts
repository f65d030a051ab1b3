import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {StepItem} from "../../src/core/Stepper.ts";
import type {RwkvEngine} from "../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {golden, maxAbsDiff, modelPath} from "./engineFixtures.ts";

const set = golden("tiny-L3-C128-V1024");
const {tokens} = set;

let model: RwkvModel;
beforeAll(async () => {
    model = await RwkvModel.load(modelPath("tiny-L3-C128-V1024.fp32.pth"), {precision: "fp32"});
});
afterAll(() => model?.dispose());

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
    const error: unknown = await promise.then(
        () => undefined,
        (e: unknown) => e,
    );
    return (error as {code?: string} | undefined)?.code ?? "resolved";
}

describe("batching", () => {
    it("N slots advanced together (mixed prefill and decode) equal N separate runs", async () => {
        // Per slot: a list of steps, each a prefill chunk or a single token.
        const scripts = [
            [tokens.slice(0, 12), tokens.slice(12, 13), tokens.slice(13, 14)],
            [tokens.slice(20, 21), tokens.slice(21, 30), tokens.slice(30, 31)],
            [tokens.slice(5, 6), tokens.slice(6, 7), tokens.slice(7, 19)],
            [tokens.slice(1, 17), tokens.slice(17, 18), tokens.slice(18, 19)],
        ];
        const batched = await model.createEngine({slots: scripts.length});
        const together: (Float32Array | null)[][] = scripts.map(() => []);
        for (let step = 0; step < 3; step++) {
            const items: StepItem[] = scripts.map((script, slot) => ({slot, tokens: script[step]!, logits: "all"}));
            const outputs = await batched.step(items);
            outputs.forEach((output, slot) => together[slot]!.push(output.logits));
        }
        const states = await Promise.all(scripts.map((_, slot) => batched.exportState(slot)));
        await batched.dispose();

        const single = await model.createEngine({slots: 1});
        for (const [slot, script] of scripts.entries()) {
            await single.importState(0, null);
            for (const [step, chunk] of script.entries()) {
                const [output] = await single.step([{slot: 0, tokens: chunk, logits: "all"}]);
                expect(maxAbsDiff(output!.logits!, together[slot]![step]!)).toBeLessThan(1e-5);
            }
            expect(maxAbsDiff(await single.exportState(0), states[slot]!)).toBeLessThan(1e-5);
        }
        await single.dispose();
    });

    it("returns outputs in item order, with null for items that asked for none", async () => {
        const engine = await model.createEngine({slots: 3});
        const outputs = await engine.step([
            {slot: 2, tokens: tokens.slice(0, 4), logits: "all"},
            {slot: 0, tokens: tokens.slice(0, 4), logits: "none"},
            {slot: 1, tokens: tokens.slice(0, 4)},
        ]);
        expect(outputs.map((output) => output.rows)).toEqual([4, 0, 1]);
        expect(outputs[1]!.logits).toBeNull();
        expect(outputs[0]!.logits!.length).toBe(4 * set.config.vocab_size);
        expect(outputs[2]!.logits).toEqual(outputs[0]!.logits!.subarray(3 * set.config.vocab_size));
        await engine.dispose();
    });
});

describe("state export and import", () => {
    let engine: RwkvEngine;
    beforeAll(async () => {
        engine = await model.createEngine({slots: 2});
    });
    afterAll(() => engine?.dispose());

    it("export → import → continue equals continuing directly", async () => {
        await engine.step([{slot: 0, tokens: tokens.slice(0, 20), logits: "none"}]);
        const saved = await engine.exportState(0);
        await engine.importState(1, saved);
        const [direct, resumed] = await engine.step([
            {slot: 0, tokens: tokens.slice(20), logits: "all"},
            {slot: 1, tokens: tokens.slice(20), logits: "all"},
        ]);
        expect(resumed!.logits).toEqual(direct!.logits);
        expect(await engine.exportState(1)).toEqual(await engine.exportState(0));

        // Into another engine too: a state is a portable value.
        const other = await model.createEngine({slots: 1});
        await other.importState(0, saved);
        const [elsewhere] = await other.step([{slot: 0, tokens: tokens.slice(20), logits: "all"}]);
        expect(elsewhere!.logits).toEqual(direct!.logits);
        await other.dispose();
    });

    it("exports a copy of stateByteLength bytes in the docs/rwkv5.md §7 layout size", async () => {
        const {n_layer, n_embd, n_head, head_size} = set.config;
        const state = await engine.exportState(0);
        expect(state.byteLength).toBe(model.info.stateByteLength);
        expect(state.length).toBe(n_layer * (2 * n_embd + n_head * head_size * head_size));
        state.fill(0);
        expect((await engine.exportState(0)).some((value) => value !== 0)).toBe(true);
    });

    it("importing null restores the zero state", async () => {
        await engine.importState(0, null);
        expect((await engine.exportState(0)).every((value) => value === 0)).toBe(true);
    });

    it("refuses a state of the wrong size and leaves the slot unchanged", async () => {
        await engine.step([{slot: 1, tokens: [1, 2, 3], logits: "none"}]);
        const before = await engine.exportState(1);
        const wrong = new Float32Array(before.length - 1);
        expect(await rejectionCode(engine.importState(1, wrong))).toBe("engine/invalid_argument");
        expect(await engine.exportState(1)).toEqual(before);
    });
});

describe("invalid arguments", () => {
    let engine: RwkvEngine;
    beforeAll(async () => {
        engine = await model.createEngine({slots: 2, maxBatchTokens: 16});
    });
    afterAll(() => engine?.dispose());

    const cases: [string, StepItem[]][] = [
        ["a slot out of range", [{slot: 2, tokens: [1]}]],
        ["a negative slot", [{slot: -1, tokens: [1]}]],
        ["a fractional slot", [{slot: 0.5, tokens: [1]}]],
        ["a fractional token", [{slot: 0, tokens: [1.5]}]],
        ["a token ≥ nVocab", [{slot: 0, tokens: [set.config.vocab_size]}]],
        ["a negative token", [{slot: 0, tokens: [-1]}]],
        ["an empty token list", [{slot: 0, tokens: []}]],
        ["an empty batch", []],
        ["the same slot twice", [{slot: 0, tokens: [1]}, {slot: 0, tokens: [2]}]],
        ["more tokens than maxBatchTokens", [{slot: 0, tokens: tokens.slice(0, 17)}]],
        ["an unknown logits mode", [{slot: 0, tokens: [1], logits: "first" as "last"}]],
    ];
    for (const [what, items] of cases) {
        it(`step rejects ${what} with engine/invalid_argument and changes nothing`, async () => {
            const before = await engine.exportState(0);
            expect(await rejectionCode(engine.step(items))).toBe("engine/invalid_argument");
            expect(await engine.exportState(0)).toEqual(before);
        });
    }

    it("state calls reject a slot out of range", async () => {
        expect(await rejectionCode(engine.exportState(2))).toBe("engine/invalid_argument");
        expect(await rejectionCode(engine.importState(-1, null))).toBe("engine/invalid_argument");
    });

    it("createEngine rejects a slot count below 1", async () => {
        expect(await rejectionCode(model.createEngine({slots: 0}))).toBe("engine/invalid_argument");
    });
});

describe("dispose", () => {
    it("every call after dispose rejects with engine/disposed; dispose is idempotent", async () => {
        const engine = await model.createEngine({slots: 1});
        await engine.dispose();
        await engine.dispose();
        expect(await rejectionCode(engine.step([{slot: 0, tokens: [1]}]))).toBe("engine/disposed");
        expect(await rejectionCode(engine.exportState(0))).toBe("engine/disposed");
        expect(await rejectionCode(engine.importState(0, null))).toBe("engine/disposed");
    });

    it("a step already made completes; calls made after dispose reject", async () => {
        const engine = await model.createEngine({slots: 1});
        const pending = engine.step([{slot: 0, tokens: tokens.slice(0, 8)}]);
        const disposed = engine.dispose();
        expect(await rejectionCode(engine.step([{slot: 0, tokens: [1]}]))).toBe("engine/disposed");
        const [output] = await pending;
        expect(output!.rows).toBe(1);
        await disposed;
    });

    it("disposing the model disposes its engines and refuses new ones", async () => {
        const own = await RwkvModel.load(modelPath("tiny-L3-C128-V1024.bf16.pth"));
        const engine = await own.createEngine({slots: 1});
        await own.dispose();
        expect(await rejectionCode(engine.step([{slot: 0, tokens: [1]}]))).toBe("engine/disposed");
        expect(await rejectionCode(own.createEngine({slots: 1}))).toBe("engine/disposed");
        await own.dispose();
    });
});
