import {open} from "node:fs/promises";
import {basename, extname} from "node:path";
import {pickleStateDict} from "./pickleStateDict.ts";
import {planStorages} from "./planStorages.ts";
import type {PthTensor} from "./PthTensor.ts";
import {storageChunks} from "./storageChunks.ts";
import {ZipStreamWriter} from "./ZipStreamWriter.ts";

/** Options of {@link writePth}. */
export interface WritePthOptions {
    /** The folder of every entry inside the archive. Defaults to the file name without extension, like torch.save. */
    prefix?: string;
    /**
     * Store all tensors as views at different offsets into ONE storage, the way
     * a DeepSpeed ZeRO model is saved. Every tensor must then have the same dtype.
     * Defaults to `false` (one storage per tensor).
     */
    sharedStorage?: boolean;
    /**
     * Write the Zip64 extra fields and saturated 32-bit fields of the > 4 GiB
     * layout even when nothing overflows, so that readers can be tested on the
     * Zip64 path with small files. Defaults to `false` (Zip64 only where needed;
     * the Zip64 end records are always written, as torch does).
     */
    forceZip64?: boolean;
}

/**
 * Writes a checkpoint that `torch.load` reads back as an OrderedDict of
 * tensors: torch.save's ZIP layout (stored entries, data descriptors, data
 * aligned to 64 bytes through a padding extra field, Zip64 end records) and
 * its protocol-2 pickle object layout (docs/rwkv5.md §3). The file is streamed;
 * rejects with EngineError `engine/invalid_argument` when a tensor's data
 * does not match its shape.
 */
export async function writePth(path: string, tensors: readonly PthTensor[], options: WritePthOptions = {}): Promise<void> {
    const prefix = options.prefix ?? basename(path, extname(path));
    const layout = planStorages(tensors, options.sharedStorage ?? false);
    const file = await open(path, "w");
    try {
        const zip = new ZipStreamWriter(file, options.forceZip64 ?? false);
        await zip.addEntry(`${prefix}/data.pkl`, [pickleStateDict(tensors, layout)]);
        await zip.addEntry(`${prefix}/byteorder`, [Buffer.from("little")]);
        // torch writes the storages in the string order of their keys ("0", "1", "10", ...).
        const keys = [...layout.storages.keys()].sort();
        for (const key of keys) {
            const storage = layout.storages.get(key)!;
            await zip.addEntry(`${prefix}/data/${key}`, storageChunks(storage.tensors), storage.bytes);
        }
        await zip.addEntry(`${prefix}/version`, [Buffer.from("3\n")]);
        await zip.finish();
    } finally {
        await file.close();
    }
}
