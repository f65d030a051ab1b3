import {open} from "node:fs/promises";
import type {FileHandle} from "node:fs/promises";
import {basename, extname} from "node:path";
import {crc32} from "node:zlib";

import {EngineError} from "../errors/BotError.ts";

/** Storage dtypes the writer produces: IEEE fp32, IEEE fp16, bfloat16 (little-endian). */
export type PthDtype = "f32" | "f16" | "bf16";

/** Bytes per element of each {@link PthDtype}. */
export const pthDtypeSize: Readonly<Record<PthDtype, number>> = {f32: 4, f16: 2, bf16: 2};

/**
 * One tensor of the state dict. `data` is either all its bytes or a function
 * returning its bytes in chunks (sync or async iterable), so that a large
 * model never sits in memory at once. The writer consumes each chunk before it
 * asks for the next, so a generator may reuse one buffer.
 */
export interface PthTensor {
    name: string;
    dtype: PthDtype;
    /** Row-major (contiguous) shape; `[]` for a 0-d tensor. */
    shape: readonly number[];
    data: Uint8Array | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);
}

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

const U32_MAX = 0xffffffff;
const ALIGNMENT = 64;
// General purpose flags torch sets: bit 3 (sizes and CRC in a data descriptor) and bit 11 (UTF-8 names).
const FLAGS = 0x0808;

interface WrittenEntry {
    name: Buffer;
    localOffset: number;
    size: number;
    crc: number;
    zip64: boolean;
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

interface StoragePlan {
    dtype: PthDtype;
    numel: number;
    bytes: number;
    tensors: PthTensor[];
}

interface StorageLayout {
    storages: Map<string, StoragePlan>;
    /** Per tensor (input order): storage key and element offset. */
    placement: {key: string; offset: number}[];
}

function numelOf(tensor: PthTensor): number {
    for (const dim of tensor.shape) {
        if (!Number.isSafeInteger(dim) || dim < 0) {
            throw new EngineError("engine/invalid_argument", `tensor '${tensor.name}' has an invalid shape [${tensor.shape.join(", ")}]`);
        }
    }
    return tensor.shape.reduce((a, b) => a * b, 1);
}

function planStorages(tensors: readonly PthTensor[], shared: boolean): StorageLayout {
    const storages = new Map<string, StoragePlan>();
    const placement: {key: string; offset: number}[] = [];
    tensors.forEach((tensor, index) => {
        const numel = numelOf(tensor);
        const key = shared ? "0" : String(index);
        let storage = storages.get(key);
        if (!storage) {
            storage = {dtype: tensor.dtype, numel: 0, bytes: 0, tensors: []};
            storages.set(key, storage);
        }
        if (storage.dtype !== tensor.dtype) {
            throw new EngineError("engine/invalid_argument",
                `a shared storage holds one dtype, but '${tensor.name}' is ${tensor.dtype} and others are ${storage.dtype}`);
        }
        placement.push({key, offset: storage.numel});
        storage.numel += numel;
        storage.bytes += numel * pthDtypeSize[tensor.dtype];
        storage.tensors.push(tensor);
    });
    return {storages, placement};
}

async function* storageChunks(tensors: readonly PthTensor[]): AsyncIterable<Uint8Array> {
    for (const tensor of tensors) {
        const expected = numelOf(tensor) * pthDtypeSize[tensor.dtype];
        let written = 0;
        const source = tensor.data instanceof Uint8Array ? [tensor.data] : tensor.data();
        for await (const chunk of source) {
            written += chunk.byteLength;
            if (written > expected) break;
            yield chunk;
        }
        if (written !== expected) {
            throw new EngineError("engine/invalid_argument",
                `tensor '${tensor.name}' of shape [${tensor.shape.join(", ")}] (${tensor.dtype}) needs ${expected} bytes, its data has ${written > expected ? "more" : written}`);
        }
    }
}

/** Small writes are gathered into one buffer; large chunks go straight to the file. */
class ZipStreamWriter {
    private offset = 0;
    private readonly entries: WrittenEntry[] = [];
    private pending: Buffer[] = [];
    private pendingBytes = 0;

    constructor(private readonly file: FileHandle, private readonly forceZip64: boolean) {}

    /** `size` (bytes) must be given when it may reach 4 GiB: the local header then carries a Zip64 field. */
    async addEntry(name: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size = 0): Promise<void> {
        const nameBytes = Buffer.from(name, "utf8");
        const localOffset = this.offset;
        const zip64 = this.forceZip64 || size >= U32_MAX;
        const zip64Extra = zip64 ? 20 : 0;
        const unpadded = localOffset + 30 + nameBytes.length + zip64Extra + 4;
        const padding = (ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT;
        const header = Buffer.alloc(30 + nameBytes.length + zip64Extra + 4 + padding);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(zip64 ? 45 : 20, 4);
        header.writeUInt16LE(FLAGS, 6);
        // Method, time, date, CRC and sizes stay 0: they follow in the data descriptor.
        if (zip64) {
            header.writeUInt32LE(U32_MAX, 18);
            header.writeUInt32LE(U32_MAX, 22);
        }
        header.writeUInt16LE(nameBytes.length, 26);
        header.writeUInt16LE(zip64Extra + 4 + padding, 28);
        nameBytes.copy(header, 30);
        let at = 30 + nameBytes.length;
        if (zip64) {
            // Zip64 extra with zero sizes: the real ones are in the descriptor.
            header.writeUInt16LE(0x0001, at);
            header.writeUInt16LE(16, at + 2);
            at += 20;
        }
        // torch's "FB" padding field puts every entry's data on a 64-byte boundary (mmap-friendly).
        header.writeUInt16LE(0x4246, at);
        header.writeUInt16LE(padding, at + 2);
        header.fill("Z", at + 4);
        await this.write(header);

        let crc = 0;
        let written = 0;
        for await (const chunk of chunks) {
            crc = crc32(chunk, crc);
            written += chunk.byteLength;
            await this.write(chunk);
        }
        const descriptor = Buffer.alloc(zip64 ? 24 : 16);
        descriptor.writeUInt32LE(0x08074b50, 0);
        descriptor.writeUInt32LE(crc, 4);
        if (zip64) {
            descriptor.writeBigUInt64LE(BigInt(written), 8);
            descriptor.writeBigUInt64LE(BigInt(written), 16);
        } else {
            if (written >= U32_MAX) throw new EngineError("engine/internal", `entry '${name}' grew past 4 GiB without a declared size`);
            descriptor.writeUInt32LE(written, 8);
            descriptor.writeUInt32LE(written, 12);
        }
        await this.write(descriptor);
        this.entries.push({name: nameBytes, localOffset, size: written, crc, zip64});
    }

    async finish(): Promise<void> {
        const directoryOffset = this.offset;
        for (const entry of this.entries) await this.write(this.centralHeader(entry));
        const directorySize = this.offset - directoryOffset;
        const count = this.entries.length;
        const zip64 = this.forceZip64 || count >= 0xffff || directoryOffset >= U32_MAX || directorySize >= U32_MAX;

        const recordOffset = this.offset;
        const tail = Buffer.alloc(56 + 20 + 22);
        tail.writeUInt32LE(0x06064b50, 0);
        tail.writeBigUInt64LE(44n, 4);
        tail.writeUInt16LE(45, 12);
        tail.writeUInt16LE(45, 14);
        tail.writeBigUInt64LE(BigInt(count), 24);
        tail.writeBigUInt64LE(BigInt(count), 32);
        tail.writeBigUInt64LE(BigInt(directorySize), 40);
        tail.writeBigUInt64LE(BigInt(directoryOffset), 48);
        tail.writeUInt32LE(0x07064b50, 56);
        tail.writeBigUInt64LE(BigInt(recordOffset), 64);
        tail.writeUInt32LE(1, 72);
        tail.writeUInt32LE(0x06054b50, 76);
        tail.writeUInt16LE(zip64 ? 0xffff : count, 84);
        tail.writeUInt16LE(zip64 ? 0xffff : count, 86);
        tail.writeUInt32LE(zip64 ? U32_MAX : directorySize, 88);
        tail.writeUInt32LE(zip64 ? U32_MAX : directoryOffset, 92);
        await this.write(tail);
        await this.flush();
    }

    private centralHeader(entry: WrittenEntry): Buffer {
        // Each field that does not fit in 32 bits moves, in this order, into the Zip64 extra field.
        const big = [entry.size, entry.size, entry.localOffset].map((value) => this.forceZip64 || value >= U32_MAX);
        const extraValues = [entry.size, entry.size, entry.localOffset].filter((_, i) => big[i]);
        const extraLength = extraValues.length ? 4 + 8 * extraValues.length : 0;
        const header = Buffer.alloc(46 + entry.name.length + extraLength);
        const zip64 = entry.zip64 || extraValues.length > 0;
        header.writeUInt32LE(0x02014b50, 0);
        header.writeUInt16LE(zip64 ? 45 : 20, 4);
        header.writeUInt16LE(zip64 ? 45 : 20, 6);
        header.writeUInt16LE(FLAGS, 8);
        header.writeUInt32LE(entry.crc, 16);
        header.writeUInt32LE(big[1] ? U32_MAX : entry.size, 20);
        header.writeUInt32LE(big[0] ? U32_MAX : entry.size, 24);
        header.writeUInt16LE(entry.name.length, 28);
        header.writeUInt16LE(extraLength, 30);
        header.writeUInt32LE(big[2] ? U32_MAX : entry.localOffset, 42);
        entry.name.copy(header, 46);
        if (extraLength) {
            let at = 46 + entry.name.length;
            header.writeUInt16LE(0x0001, at);
            header.writeUInt16LE(8 * extraValues.length, at + 2);
            at += 4;
            for (const value of extraValues) {
                header.writeBigUInt64LE(BigInt(value), at);
                at += 8;
            }
        }
        return header;
    }

    private async write(chunk: Uint8Array): Promise<void> {
        this.offset += chunk.byteLength;
        if (chunk.byteLength >= 1 << 16) {
            await this.flush();
            await writeFully(this.file, chunk);
            return;
        }
        // Copied: a caller's generator may reuse its buffer after this returns.
        this.pending.push(Buffer.from(chunk));
        this.pendingBytes += chunk.byteLength;
        if (this.pendingBytes >= 1 << 20) await this.flush();
    }

    private async flush(): Promise<void> {
        if (this.pendingBytes === 0) return;
        const data = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [];
        this.pendingBytes = 0;
        await writeFully(this.file, data);
    }
}

async function writeFully(file: FileHandle, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
        const {bytesWritten} = await file.write(data, done, data.byteLength - done);
        done += bytesWritten;
    }
}

const STORAGE_CLASS: Readonly<Record<PthDtype, string>> = {f32: "FloatStorage", f16: "HalfStorage", bf16: "BFloat16Storage"};

/**
 * The pickle torch.save writes for a state dict, byte for byte as Python's
 * protocol-2 pickler memoises it: every new string, tuple, global and REDUCE
 * result gets a memo slot; the shared 'storage', 'cpu', storage class and
 * storage key objects are fetched back from the memo.
 */
function pickleStateDict(tensors: readonly PthTensor[], layout: StorageLayout): Buffer {
    const out = new PickleBuilder();
    out.raw(0x80, 2);
    const orderedDict = out.global("collections", "OrderedDict");
    out.raw(0x29, 0x52); // EMPTY_TUPLE REDUCE
    out.memoize();
    const shared = new Map<string, number>();
    const memoized = (id: string, emit: () => number): void => {
        const slot = shared.get(id);
        if (slot === undefined) shared.set(id, emit());
        else out.get(slot);
    };
    const writeItem = (tensor: PthTensor, index: number): void => {
        const {key, offset} = layout.placement[index]!;
        const storage = layout.storages.get(key)!;
        out.string(tensor.name);
        memoized("rebuild", () => out.global("torch._utils", "_rebuild_tensor_v2"));
        out.raw(0x28, 0x28); // MARK MARK
        memoized("'storage'", () => out.string("storage"));
        memoized(`class ${storage.dtype}`, () => out.global("torch", STORAGE_CLASS[storage.dtype]));
        memoized(`key ${key}`, () => out.string(key));
        memoized("'cpu'", () => out.string("cpu"));
        out.int(storage.numel);
        out.raw(0x74); // TUPLE
        out.memoize();
        out.raw(0x51); // BINPERSID
        out.int(offset);
        out.tuple(tensor.shape);
        out.tuple(contiguousStrides(tensor.shape));
        out.raw(0x89); // NEWFALSE: requires_grad
        out.get(orderedDict); // backward_hooks = OrderedDict()
        out.raw(0x29, 0x52);
        out.memoize();
        out.raw(0x74);
        out.memoize();
        out.raw(0x52);
        out.memoize();
    };
    // Python's pickler emits dict items in batches of 1000 (SETITEM for a batch of one).
    for (let start = 0; start < tensors.length; start += 1000) {
        const batch = tensors.slice(start, start + 1000);
        if (batch.length > 1) out.raw(0x28);
        batch.forEach((tensor, i) => writeItem(tensor, start + i));
        out.raw(batch.length > 1 ? 0x75 : 0x73);
    }
    // BUILD with {'_metadata': OrderedDict()}: module version bookkeeping, empty here.
    out.raw(0x7d);
    out.memoize();
    out.string("_metadata");
    out.get(orderedDict);
    out.raw(0x29, 0x52);
    out.memoize();
    out.raw(0x73, 0x62, 0x2e); // SETITEM BUILD STOP
    return out.finish();
}

function contiguousStrides(shape: readonly number[]): number[] {
    const strides = new Array<number>(shape.length);
    let step = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
        strides[d] = step;
        step *= shape[d]!;
    }
    return strides;
}

class PickleBuilder {
    private readonly parts: Buffer[] = [];
    private memoCount = 0;

    raw(...bytes: number[]): void {
        this.parts.push(Buffer.from(bytes));
    }

    /** BINPUT/LONG_BINPUT of the value on top of the stack; returns its memo slot. */
    memoize(): number {
        const slot = this.memoCount++;
        if (slot < 256) {
            this.raw(0x71, slot);
        } else {
            const b = Buffer.alloc(5);
            b[0] = 0x72;
            b.writeUInt32LE(slot, 1);
            this.parts.push(b);
        }
        return slot;
    }

    get(slot: number): void {
        if (slot < 256) {
            this.raw(0x68, slot);
        } else {
            const b = Buffer.alloc(5);
            b[0] = 0x6a;
            b.writeUInt32LE(slot, 1);
            this.parts.push(b);
        }
    }

    global(module: string, name: string): number {
        this.parts.push(Buffer.from(`c${module}\n${name}\n`, "utf8"));
        return this.memoize();
    }

    string(text: string): number {
        const bytes = Buffer.from(text, "utf8");
        const head = Buffer.alloc(5);
        head[0] = 0x58; // BINUNICODE
        head.writeUInt32LE(bytes.length, 1);
        this.parts.push(head, bytes);
        return this.memoize();
    }

    int(value: number): void {
        if (value >= 0 && value < 0x100) {
            this.raw(0x4b, value);
        } else if (value >= 0 && value < 0x10000) {
            this.raw(0x4d, value & 0xff, value >> 8);
        } else if (value >= -0x80000000 && value < 0x80000000) {
            const b = Buffer.alloc(5);
            b[0] = 0x4a;
            b.writeInt32LE(value, 1);
            this.parts.push(b);
        } else {
            // LONG1: the shortest little-endian two's complement, as Python writes it.
            const bytes: number[] = [];
            let rest = BigInt(value);
            for (;;) {
                const byte = Number(rest & 0xffn);
                bytes.push(byte);
                rest >>= 8n;
                if ((rest === 0n && byte < 0x80) || (rest === -1n && byte >= 0x80)) break;
            }
            this.raw(0x8a, bytes.length, ...bytes);
        }
    }

    tuple(values: readonly number[]): void {
        if (values.length === 0) {
            this.raw(0x29);
            return;
        }
        if (values.length > 3) this.raw(0x28);
        for (const value of values) this.int(value);
        this.raw(values.length > 3 ? 0x74 : 0x84 + values.length);
        this.memoize();
    }

    finish(): Buffer {
        return Buffer.concat(this.parts);
    }
}
