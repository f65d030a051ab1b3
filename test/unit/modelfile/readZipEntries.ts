// An independent, minimal reader of what writePth produces, for its tests:
// the central directory (Zip64 included), each entry's local header, data and
// data descriptor.
import {readFileSync} from "node:fs";

export interface ZipEntryView {
    name: string;
    flags: number;
    method: number;
    crc: number;
    size: number;
    localOffset: number;
    dataOffset: number;
    /** Whether the central header moved its sizes and offset into a Zip64 extra field. */
    zip64Extra: boolean;
    data: Buffer;
    descriptor: {crc: number; size: number};
}

export function readZipEntries(path: string): {entries: ZipEntryView[]; eocdSaturated: boolean} {
    const file = readFileSync(path);
    const eocd = file.length - 22;
    if (file.readUInt32LE(eocd) !== 0x06054b50) throw new Error("no EOCD at the end");
    const locator = eocd - 20;
    if (file.readUInt32LE(locator) !== 0x07064b50) throw new Error("no Zip64 locator");
    const record = Number(file.readBigUInt64LE(locator + 8));
    if (file.readUInt32LE(record) !== 0x06064b50) throw new Error("no Zip64 record");
    const count = Number(file.readBigUInt64LE(record + 32));
    const directoryOffset = Number(file.readBigUInt64LE(record + 48));
    const eocdSaturated = file.readUInt32LE(eocd + 16) === 0xffffffff;
    if (!eocdSaturated && file.readUInt32LE(eocd + 16) !== directoryOffset) throw new Error("EOCD and Zip64 disagree");

    const entries: ZipEntryView[] = [];
    let at = directoryOffset;
    for (let i = 0; i < count; i++) {
        if (file.readUInt32LE(at) !== 0x02014b50) throw new Error(`no central header ${i}`);
        const nameLength = file.readUInt16LE(at + 28);
        const extraLength = file.readUInt16LE(at + 30);
        const name = file.toString("utf8", at + 46, at + 46 + nameLength);
        const fields = [file.readUInt32LE(at + 24), file.readUInt32LE(at + 20), file.readUInt32LE(at + 42)];
        let zip64Extra = false;
        if (extraLength > 0) {
            if (file.readUInt16LE(at + 46 + nameLength) !== 1) throw new Error("unexpected central extra field");
            zip64Extra = true;
            let value = at + 46 + nameLength + 4;
            for (const [k, field] of fields.entries()) {
                if (field !== 0xffffffff) continue;
                fields[k] = Number(file.readBigUInt64LE(value));
                value += 8;
            }
        }
        const [size, , localOffset] = fields as [number, number, number];
        if (file.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`no local header for ${name}`);
        const dataOffset = localOffset + 30 + file.readUInt16LE(localOffset + 26) + file.readUInt16LE(localOffset + 28);
        const descriptorAt = dataOffset + size;
        if (file.readUInt32LE(descriptorAt) !== 0x08074b50) throw new Error(`no data descriptor after ${name}`);
        const bigDescriptor = file.readUInt16LE(localOffset + 4) === 45;
        entries.push({
            name,
            flags: file.readUInt16LE(at + 8),
            method: file.readUInt16LE(at + 10),
            crc: file.readUInt32LE(at + 16),
            size,
            localOffset,
            dataOffset,
            zip64Extra,
            data: file.subarray(dataOffset, dataOffset + size),
            descriptor: {
                crc: file.readUInt32LE(descriptorAt + 4),
                size: bigDescriptor ? Number(file.readBigUInt64LE(descriptorAt + 16)) : file.readUInt32LE(descriptorAt + 12),
            },
        });
        at += 46 + nameLength + extraLength + file.readUInt16LE(at + 32);
    }
    return {entries, eocdSaturated};
}
