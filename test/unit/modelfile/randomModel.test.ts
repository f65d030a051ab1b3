import {mkdtempSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, describe, expect, it} from "vitest";
import {writeRandomModel} from "../../../tools/modelfile/randomModel.ts";
import type {RandomModelOptions} from "../../../tools/modelfile/randomModel.ts";
import {readZipEntries} from "./readZipEntries.ts";

const dir = mkdtempSync(join(tmpdir(), "randomModel-"));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

const fixtures = new URL("../../fixtures/models/", import.meta.url).pathname;
// The shape of the tiny fixture, whose key order is RWKV-LM's state_dict() order.
const tiny = {nLayer: 3, nEmbd: 128, headSize: 64, dimFfn: 448, nVocab: 1024};

async function write(name: string, options: RandomModelOptions = {}, shape = tiny) {
    const path = join(dir, `${name}.pth`);
    await writeRandomModel(path, shape, options);
    return readZipEntries(path).entries;
}

function pickleOf(entries: ReturnType<typeof readZipEntries>["entries"]): Buffer {
    return entries.find((e) => e.name.endsWith("/data.pkl"))!.data;
}

function bf16Values(bytes: Buffer): number[] {
    const values: number[] = [];
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < bytes.length; i += 2) {
        word.setUint32(0, bytes.readUInt16LE(i) << 16);
        values.push(word.getFloat32(0));
    }
    return values;
}

describe("writeRandomModel", () => {
    // torch also fills `_metadata` with module versions: everything before it matches byte for byte.
    it.each([
        ["tiny-L3-C128-V1024.bf16", {dtype: "bf16"}],
        ["tiny-L3-C128-V1024.fp16", {dtype: "f16", sharedStorage: true}],
        ["tiny-L3-C128-V1024.fp32", {dtype: "f32"}],
    ] as const)("writes the same pickle as torch.save did for %s", async (name, options) => {
        const ours = pickleOf(await write(name, options));
        const torch = pickleOf(readZipEntries(`${fixtures}${name}.pth`).entries);
        expect(ours.subarray(-3).toString("latin1")).toBe("sb.");
        expect(torch.subarray(0, ours.length - 3).equals(ours.subarray(0, -3))).toBe(true);
    });

    it("is deterministic per seed, and a renamed tensor keeps its values", async () => {
        const a = await write("seed1", {seed: 1});
        const b = await write("seed1-again", {seed: 1, mapName: (n) => n.replace("time_mix", "time_maa")});
        const c = await write("seed2", {seed: 2});
        const storages = (entries: typeof a) => Buffer.concat(entries.filter((e) => e.name.includes("/data/")).map((e) => e.data));
        expect(storages(b).equals(storages(a))).toBe(true);
        expect(storages(c).equals(storages(a))).toBe(false);
        expect(pickleOf(b).includes("time_maa_k")).toBe(true);
        expect(pickleOf(b).includes("time_mix_k")).toBe(false);
    });

    it("draws weights in realistic ranges", async () => {
        const entries = await write("ranges");
        // Storage keys follow RWKV-LM's order: 0 emb, 1-4 ln1/ln2, 5-6 ln0, 7-10 time_mix, 11 time_decay, 12 time_faaaa, 13 receptance.
        const storage = (key: number) => bf16Values(entries.find((e) => e.name.endsWith(`/data/${key}`))!.data);
        const decay = storage(11);
        expect(Math.min(...decay)).toBeGreaterThanOrEqual(-6);
        expect(Math.max(...decay)).toBeLessThanOrEqual(1);
        const bonus = storage(12);
        const std = Math.sqrt(bonus.reduce((s, v) => s + v * v, 0) / bonus.length);
        expect(std).toBeGreaterThan(0.35);
        expect(std).toBeLessThan(0.65);
        expect(storage(1).every((v) => v >= 0.89 && v <= 1.11)).toBe(true);
        expect(storage(7).every((v) => v >= 0 && v <= 1)).toBe(true);
        const bound = 1 / Math.sqrt(128);
        const receptance = storage(13);
        expect(receptance.every((v) => Math.abs(v) <= bound)).toBe(true);
        expect(Math.max(...receptance)).toBeGreaterThan(bound * 0.9);
    });

    it("leaves out tensors mapped to null and applies reshapes", async () => {
        const entries = await write("broken", {
            mapName: (n) => (n === "blocks.1.att.gate.weight" ? null : n),
            reshape: {"blocks.0.ln1.weight": [64]},
        });
        const pickle = pickleOf(entries);
        expect(pickle.includes("blocks.1.att.gate.weight")).toBe(false);
        expect(pickle.includes("blocks.0.att.gate.weight")).toBe(true);
        expect(entries.filter((e) => e.name.includes("/data/"))).toHaveLength(71);
        // The first ln1 storage ('1') holds 64 bf16 values.
        expect(entries.find((e) => e.name.endsWith("/data/1"))!.size).toBe(128);
    });
});
