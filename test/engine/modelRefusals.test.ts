// Checkpoints the engine must refuse, each built with the project's own .pth
// writer: the load rejects with EngineError, the right code and a message
// naming the file. A writer-made valid model loads with the expected dims.
import {copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {EngineError} from "../../src/errors/BotError.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {writeRandomModel} from "../../tools/modelfile/randomModel.ts";
import type {RandomModelOptions} from "../../tools/modelfile/randomModel.ts";

const dir = mkdtempSync(join(tmpdir(), "modelRefusals-"));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

const shape = {nLayer: 2, nEmbd: 128, headSize: 64, dimFfn: 448, nVocab: 256};
const goodPath = join(dir, "good.pth");
beforeAll(() => writeRandomModel(goodPath, shape));

async function build(name: string, options: RandomModelOptions): Promise<string> {
    const path = join(dir, `${name}.pth`);
    await writeRandomModel(path, shape, options);
    return path;
}

async function expectRefusal(path: string, code: string, ...parts: string[]): Promise<void> {
    const error = await RwkvModel.load(path).then(
        async (model) => {
            await model.dispose();
            return undefined;
        },
        (e: unknown) => e,
    );
    expect(error, `${path} loaded`).toBeInstanceOf(EngineError);
    const {code: actual, message} = error as EngineError;
    expect({code: actual, message}).toMatchObject({code, message: expect.stringContaining(path)});
    for (const part of parts) expect(message).toContain(part);
}

describe("RwkvModel.load on writer-made checkpoints", () => {
    it("loads a valid model with the dims of its tensors", async () => {
        const model = await RwkvModel.load(goodPath);
        try {
            const perLayer = 10 * 128 + 2 * 2 * 64 + 5 * 128 * 128 + 2 * 128 + 448 * 128 * 2 + 128 * 128;
            expect(model.info).toMatchObject({
                nVocab: 256, nEmbd: 128, nLayer: 2, nHead: 2, headSize: 64, dimAtt: 128, dimFfn: 448,
                fileDtype: "bf16", nParams: 2 * 256 * 128 + 2 * 128 + 2 * perLayer + 2 * 128,
            });
            expect(model.info.modelId).toMatch(/^[0-9a-f]{64}$/);
        } finally {
            await model.dispose();
        }
    });

    it("loads fp16 tensors sharing one storage in the Zip64 layout, with the same dims", async () => {
        const model = await RwkvModel.load(await build("shared-zip64", {dtype: "f16", sharedStorage: true, forceZip64: true}));
        try {
            expect(model.info).toMatchObject({nLayer: 2, nHead: 2, headSize: 64, dimFfn: 448, nVocab: 256, fileDtype: "f16"});
        } finally {
            await model.dispose();
        }
    });

    it("refuses a truncated file with engine/bad_archive", async () => {
        const size = readFileSync(goodPath).length;
        for (const cut of [1000, Math.floor(size / 2), size - 100]) {
            const path = join(dir, `truncated-${cut}.pth`);
            copyFileSync(goodPath, path);
            truncateSync(path, cut);
            await expectRefusal(path, "engine/bad_archive", "truncated");
        }
    });

    it("refuses a file of the right size with one flipped byte with engine/checksum_mismatch naming the tensor", async () => {
        const bytes = readFileSync(goodPath);
        const at = Math.floor(bytes.length / 2);
        bytes[at] = bytes[at]! ^ 0x01;
        const path = join(dir, "flipped.pth");
        writeFileSync(path, bytes);
        await expectRefusal(path, "engine/checksum_mismatch", "tensor '", "is corrupt", "damaged");
    });

    it("refuses a file that is not a ZIP archive with engine/bad_archive", async () => {
        const path = join(dir, "notes.pth");
        writeFileSync(path, "these are not the weights you are looking for\n");
        await expectRefusal(path, "engine/bad_archive", "not a ZIP archive");
    });

    it("refuses an unreadable pickle with engine/bad_pickle naming the opcode", async () => {
        const bytes = readFileSync(goodPath);
        // data.pkl is the first entry; its data starts on the first 64-byte boundary after the local header.
        const dataOffset = 30 + bytes.readUInt16LE(26) + bytes.readUInt16LE(28);
        bytes[dataOffset + 2] = 0xff;
        const path = join(dir, "bad-pickle.pth");
        writeFileSync(path, bytes);
        await expectRefusal(path, "engine/bad_pickle", "opcode 0xff at byte 2");
    });

    it("refuses a missing tensor with engine/missing_tensor naming it", async () => {
        const path = await build("missing", {mapName: (n) => (n === "blocks.1.att.gate.weight" ? null : n)});
        await expectRefusal(path, "engine/missing_tensor", "blocks.1.att.gate.weight");
    });

    it("refuses a wrong shape with engine/bad_shape naming the tensor, the shape found and the one expected", async () => {
        const path = await build("wrong-shape", {reshape: {"blocks.1.ffn.value.weight": [128, 447]}});
        await expectRefusal(path, "engine/bad_shape", "blocks.1.ffn.value.weight", "[128, 447]", "[128, 448]");
    });

    it.each([
        ["RWKV-4", {
            // No ln_x and no gate; the bonus under its old name.
            mapName: (n: string) => (n.includes("ln_x") || n.includes("gate") ? null : n.replace("time_faaaa", "time_first")),
        }],
        ["RWKV-6", {mapName: (n: string) => n.replace("time_mix_", "time_maa_")}],
        ["RWKV-7", {mapName: (n: string) => n.replace("att.time_decay", "att.w0").replace("att.time_faaaa", "att.r_k")}],
        ["RWKV-5.0", {mapName: (n: string) => (n.includes("att.gate") ? null : n)}],
        ["RWKV-5.1", {reshape: {"blocks.0.att.time_decay": [128]}}],
    ] as const)("refuses a %s checkpoint with engine/unsupported_model", async (version, options) => {
        const path = await build(version, options);
        await expectRefusal(path, "engine/unsupported_model", version, "RWKV-5.2 only");
    });

    it("refuses a path that does not exist with engine/io", async () => {
        const path = join(dir, "absent.pth");
        await expectRefusal(path, "engine/io");
    });
});
