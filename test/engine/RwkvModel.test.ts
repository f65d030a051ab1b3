import {describe, expect, it} from "vitest";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {golden, goldenFloats, maxAbsDiff, modelPath, row} from "./engineFixtures.ts";

const set = golden("tiny-L3-C128-V1024");
const path = modelPath("tiny-L3-C128-V1024.bf16.pth");

async function rejection(promise: Promise<unknown>): Promise<{code?: string; message?: string} | undefined> {
    return promise.then(
        () => undefined,
        (error: unknown) => error as {code?: string; message?: string},
    );
}

describe("RwkvModel.load", () => {
    it("reports progress non-decreasing in [0, 1], ending with 1, before it resolves", async () => {
        const fractions: number[] = [];
        const model = await RwkvModel.load(path, {onProgress: (fraction) => fractions.push(fraction)});
        await model.dispose();
        expect(fractions.length).toBeGreaterThan(1);
        expect(fractions.at(-1)).toBe(1);
        expect(fractions.filter((fraction) => fraction === 1)).toHaveLength(1);
        for (const [i, fraction] of fractions.entries()) {
            expect(fraction).toBeGreaterThanOrEqual(i === 0 ? 0 : fractions[i - 1]!);
            expect(fraction).toBeLessThanOrEqual(1);
        }
    });

    it("rejects at once with engine/aborted when the signal has already aborted", async () => {
        const controller = new AbortController();
        controller.abort();
        const progress: number[] = [];
        const error = await rejection(RwkvModel.load(path, {signal: controller.signal, onProgress: (f) => progress.push(f)}));
        expect(error?.code).toBe("engine/aborted");
        expect(progress).toEqual([]);
    });

    it("rejects with engine/aborted when the signal aborts during the load", async () => {
        const controller = new AbortController();
        const loading = RwkvModel.load(path, {signal: controller.signal});
        controller.abort();
        expect((await rejection(loading))?.code).toBe("engine/aborted");
    });

    it("rejects with the error of a throwing progress listener", async () => {
        const failure = new Error("listener failed");
        const error = await rejection(
            RwkvModel.load(path, {
                onProgress: () => {
                    throw failure;
                },
            }),
        );
        expect(error).toBe(failure);
    });

    it("rejects a missing file with engine/io naming it", async () => {
        const error = await rejection(RwkvModel.load(modelPath("no-such-model.pth")));
        expect(error?.code).toBe("engine/io");
        expect(error?.message).toContain("no-such-model.pth");
    });
});

describe("RwkvModel.load within a memory budget", () => {
    it("takes 16bit under auto when it fits, int8 when only that fits, and refuses what fits neither, saying what would", async () => {
        const sizes = await Promise.all((["16bit", "int8"] as const).map(async (precision) => {
            const model = await RwkvModel.load(path, {precision});
            await model.dispose();
            return model.info.weightBytes;
        }));
        const [half, int8] = sizes as [number, number];
        const loaded = async (precision: "auto" | "16bit", memoryBudget: number) => {
            const model = await RwkvModel.load(path, {precision, memoryBudget});
            await model.dispose();
            return model.info;
        };
        expect(await loaded("auto", half)).toMatchObject({precision: "16bit", weightBytes: half, memoryBudget: half});
        expect(await loaded("auto", half - 1)).toMatchObject({precision: "int8", weightBytes: int8, memoryBudget: half - 1});
        // With no budget given, the host's free memory: a fixture fits in 16 bits.
        const measured = await RwkvModel.load(path, {precision: "auto"});
        await measured.dispose();
        expect(measured.info.precision).toBe("16bit");
        expect(measured.info.memoryBudget).toBeGreaterThan(half);

        const over16 = await rejection(loaded("16bit", half - 1));
        expect(over16?.code).toBe("engine/out_of_memory");
        expect(over16?.message).toContain("tiny-L3-C128-V1024.bf16.pth: its 16-bit weights need 1.8 MB, more than the memory budget of 1.8 MB");
        expect(over16?.message).toContain("as int8 weights they need");
        const overBoth = await rejection(loaded("auto", int8 - 1));
        expect(overBoth?.code).toBe("engine/out_of_memory");
        expect(overBoth?.message).toContain("its int8 weights need");
    });

    it("refuses a budget that is not a byte count", async () => {
        for (const memoryBudget of [-1, Number.NaN, 2 ** 60]) {
            const error = await rejection(RwkvModel.load(path, {precision: "auto", memoryBudget}));
            expect(error?.code).toBe("engine/invalid_argument");
        }
    });
});

describe("ModelInfo", () => {
    it("describes the fixture's dimensions, dtype, state size and identity", async () => {
        const model = await RwkvModel.load(path, {precision: "fp32"});
        const {info} = model;
        await model.dispose();
        const {vocab_size, n_embd, n_layer, n_head, head_size} = set.config;
        expect(info).toMatchObject({
            path,
            nVocab: vocab_size,
            nEmbd: n_embd,
            nLayer: n_layer,
            nHead: n_head,
            headSize: head_size,
            dimAtt: n_head * head_size,
            fileDtype: "bf16",
            precision: "fp32",
            backend: "cpu",
            stateByteLength: n_layer * (2 * n_embd + n_head * head_size * head_size) * 4,
        });
        expect(info.modelId).toMatch(/^[0-9a-f]{64}$/);
        expect(info.nParams).toBeGreaterThan(0);
        expect(info.decodeBytesPerStep).toBeGreaterThan(0);
        expect(info.decodeBytesPerStep).toBeLessThanOrEqual(info.weightBytes);
    });

    it("keeps the model id and state size across precisions, each holding fewer weight bytes than the one before", async () => {
        const exact = await RwkvModel.load(path, {precision: "fp32"});
        const half = await RwkvModel.load(path, {precision: "16bit"});
        const int8 = await RwkvModel.load(path, {precision: "int8"});
        await Promise.all([exact.dispose(), half.dispose(), int8.dispose()]);
        expect([exact, half, int8].map((model) => model.info.precision)).toEqual(["fp32", "16bit", "int8"]);
        for (const model of [half, int8]) {
            expect(model.info.modelId).toBe(exact.info.modelId);
            expect(model.info.stateByteLength).toBe(exact.info.stateByteLength);
        }
        expect(half.info.weightBytes).toBeLessThan(exact.info.weightBytes);
        expect(int8.info.weightBytes).toBeLessThan(half.info.weightBytes);
        expect(int8.info.decodeBytesPerStep).toBeLessThan(0.6 * half.info.decodeBytesPerStep);
    });

    it("continues under int8 a conversation checkpointed under 16bit", async () => {
        const half = await RwkvModel.load(path, {precision: "16bit"});
        const int8 = await RwkvModel.load(path, {precision: "int8"});
        try {
            const [before, after] = [await half.createEngine({slots: 1}), await int8.createEngine({slots: 1})];
            const split = set.tokens.length >> 1;
            await before.step([{slot: 0, tokens: set.tokens.slice(0, split), logits: "none"}]);
            await after.importState(0, await before.exportState(0));
            const [output] = await after.step([{slot: 0, tokens: set.tokens.slice(split), logits: "last"}]);
            const golden = row(goldenFloats(set, "logits_seq.f32"), set.tokens.length - 1, int8.info.nVocab);
            expect(maxAbsDiff(output!.logits!, golden)).toBeLessThan(0.3);
            expect(output!.logits!.indexOf(Math.max(...output!.logits!))).toBe(golden.indexOf(Math.max(...golden)));
        } finally {
            await Promise.all([half.dispose(), int8.dispose()]);
        }
    });
});
