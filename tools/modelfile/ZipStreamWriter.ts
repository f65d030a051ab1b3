import type {FileHandle} from "node:fs/promises";
import {crc32} from "node:zlib";

import {EngineError} from "../../src/errors/BotError.ts";

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
 * torch.save's ZIP layout, streamed: stored entries with data descriptors, data aligned to 64
 * bytes, Zip64 records. Small writes are gathered into one buffer; large chunks go straight to the file.
 */
export class ZipStreamWriter {
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
