import {mkdtempSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {crc32} from "node:zlib";
import {afterAll, describe, expect, it} from "vitest";
import {EngineError} from "../../../src/errors/BotError.ts";
import {writePth} from "../../../tools/modelfile/writePth.ts";
import type {PthTensor} from "../../../tools/modelfile/PthTensor.ts";
import {readZipEntries} from "./readZipEntries.ts";

const dir = mkdtempSync(join(tmpdir(), "writePth-"));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

function f32Bytes(values: number[]): Uint8Array {
    return new Uint8Array(new Float32Array(values).buffer);
}

// Twelve tensors, so that the storage keys sort as strings ("0", "1", "10", "11", "2", ...).
const tensors: PthTensor[] = Array.from({length: 12}, (_, i) => ({
    name: `t${i}`,
    dtype: "f32" as const,
    shape: [2, i + 1],
    data: f32Bytes(Array.from({length: 2 * (i + 1)}, (_, k) => i * 100 + k)),
}));

describe("writePth", () => {
    it("writes torch.save's ZIP layout: entry order, flags, 64-byte aligned data, CRCs and descriptors", async () => {
        const path = join(dir, "layout.pth");
        await writePth(path, tensors);
        const {entries, eocdSaturated} = readZipEntries(path);
        const keys = Array.from({length: 12}, (_, i) => String(i)).sort();
        expect(entries.map((e) => e.name)).toEqual([
            "layout/data.pkl", "layout/byteorder", ...keys.map((k) => `layout/data/${k}`), "layout/version",
        ]);
        expect(eocdSaturated).toBe(false);
        for (const entry of entries) {
            expect(entry.method).toBe(0);
            expect(entry.flags).toBe(0x0808);
            expect(entry.dataOffset % 64).toBe(0);
            expect(entry.crc).toBe(crc32(entry.data));
            expect(entry.descriptor).toEqual({crc: entry.crc, size: entry.size});
            expect(entry.zip64Extra).toBe(false);
        }
        expect(entries.find((e) => e.name === "layout/version")?.data.toString()).toBe("3\n");
        expect(entries.find((e) => e.name === "layout/byteorder")?.data.toString()).toBe("little");
        expect(entries.find((e) => e.name === "layout/data/10")?.data).toEqual(Buffer.from(tensors[10]!.data as Uint8Array));
    });

    it("puts every tensor at its offset in one storage when sharedStorage is set", async () => {
        const path = join(dir, "shared.pth");
        await writePth(path, tensors, {sharedStorage: true, prefix: "archive"});
        const {entries} = readZipEntries(path);
        expect(entries.map((e) => e.name)).toEqual(["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"]);
        const storage = entries[2]!.data;
        expect(storage).toEqual(Buffer.concat(tensors.map((t) => t.data as Uint8Array)));
        // The pickle names storage "0" with the total element count and each tensor's offset.
        const pickle = entries[0]!.data;
        const total = tensors.reduce((n, t) => n + t.shape[0]! * t.shape[1]!, 0);
        expect(pickle.includes(Buffer.from([0x4b, total]))).toBe(true);
    });

    it("writes the Zip64 fields of the > 4 GiB layout when forced, with the same contents", async () => {
        const plainPath = join(dir, "plain.pth");
        const zip64Path = join(dir, "zip64.pth");
        await writePth(plainPath, tensors, {prefix: "p"});
        await writePth(zip64Path, tensors, {prefix: "p", forceZip64: true});
        const plain = readZipEntries(plainPath);
        const zip64 = readZipEntries(zip64Path);
        expect(zip64.eocdSaturated).toBe(true);
        expect(zip64.entries.every((e) => e.zip64Extra && e.dataOffset % 64 === 0)).toBe(true);
        expect(zip64.entries.map((e) => [e.name, e.crc, e.data])).toEqual(plain.entries.map((e) => [e.name, e.crc, e.data]));
    });

    it("streams chunked data from sync and async generators", async () => {
        const path = join(dir, "chunks.pth");
        const values = Array.from({length: 1000}, (_, k) => k / 7);
        const bytes = f32Bytes(values);
        await writePth(path, [
            {name: "sync", dtype: "f32", shape: [1000], data: function* () {
                for (let at = 0; at < bytes.length; at += 300) yield bytes.subarray(at, at + 300);
            }},
            {name: "async", dtype: "bf16", shape: [10, 50], data: async function* () {
                // One reused buffer: the writer must have consumed a chunk before asking for the next.
                const buffer = new Uint8Array(100);
                for (let i = 0; i < 10; i++) {
                    buffer.fill(i);
                    yield buffer;
                }
            }},
        ]);
        const {entries} = readZipEntries(path);
        expect(entries[2]!.data).toEqual(Buffer.from(bytes));
        const bf16 = entries[3]!.data;
        expect(bf16.length).toBe(1000);
        expect([...bf16.subarray(0, 100)].every((b) => b === 0)).toBe(true);
        expect([...bf16.subarray(900)].every((b) => b === 9)).toBe(true);
    });

    it("rejects data whose length does not match the shape, and mixed dtypes in a shared storage", async () => {
        const short: PthTensor = {name: "short", dtype: "f32", shape: [3], data: f32Bytes([1, 2])};
        await expect(writePth(join(dir, "short.pth"), [short])).rejects.toSatisfy(
            (e: unknown) => e instanceof EngineError && e.code === "engine/invalid_argument" && e.message.includes("'short'"),
        );
        const mixed: PthTensor[] = [tensors[0]!, {name: "half", dtype: "f16", shape: [1], data: new Uint8Array(2)}];
        await expect(writePth(join(dir, "mixed.pth"), mixed, {sharedStorage: true})).rejects.toSatisfy(
            (e: unknown) => e instanceof EngineError && e.code === "engine/invalid_argument" && e.message.includes("'half'"),
        );
    });
});
