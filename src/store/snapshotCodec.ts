import {createHash} from "node:crypto";
import {stateElementCount} from "./StateDescriptor.ts";
import type {StateDescriptor} from "./StateDescriptor.ts";

/** Version of the snapshot format written by {@link encodeSnapshot}. */
export const SNAPSHOT_CODEC_VERSION = 1;

/** How the numbers are stored: fp32 is exact; fp16 halves the size (relative error ≤ 2⁻¹¹, see bench). */
export type SnapshotDtype = "fp32" | "fp16";

/** The fields of a snapshot header. */
export interface SnapshotHeader {
    readonly version: number;
    readonly dtype: SnapshotDtype;
    readonly modelId: string;
    readonly nLayer: number;
    readonly nEmbd: number;
    readonly nHead: number;
    readonly headSize: number;
    /** Payload length in bytes. */
    readonly payloadBytes: number;
    /** sha-256 of the payload, hex. */
    readonly checksum: string;
}

/** Why a snapshot was refused. */
export type SnapshotRefusal =
    | "foreign" | "unsupported_version" | "model_mismatch" | "shape_mismatch" | "wrong_size" | "checksum_mismatch";

/** Outcome of decoding: the state, or why not (an expected outcome, not an exception). */
export type DecodedSnapshot =
    | {readonly ok: true, readonly header: SnapshotHeader, readonly state: Float32Array}
    | {readonly ok: false, readonly reason: SnapshotRefusal, readonly message: string};

// Layout, little-endian: magic[8] "RWKVSTAT", u16 version, u8 dtype (1 fp32,
// 2 fp16), u8 0, u32 header bytes, u32 nLayer, nEmbd, nHead, headSize,
// u64 payload bytes, sha-256[32] of the payload, u32 model-id length, u32 0,
// model id (ASCII, 64 bytes zero-padded); then the payload in docs/rwkv5.md §7
// order: per layer att_x[C], S[H][N][N], ffn_x[C].
const MAGIC = Buffer.from("RWKVSTAT", "latin1");
const HEADER_BYTES = 144;
const MODEL_ID_BYTES = 64;
const DTYPE_CODES: Record<SnapshotDtype, number> = {fp32: 1, fp16: 2};

/** Bytes of an encoded snapshot's header. */
export const SNAPSHOT_HEADER_BYTES = HEADER_BYTES;

/**
 * Encodes `state` (fp32, docs/rwkv5.md §7 layout) with a versioned header.
 * Throws RangeError when the state does not match the descriptor (a caller bug).
 */
export function encodeSnapshot(state: Float32Array, descriptor: StateDescriptor, dtype: SnapshotDtype = "fp32"): Buffer {
    const count = stateElementCount(descriptor);
    if (state.length !== count) throw new RangeError(`State has ${state.length} numbers, the model's has ${count}`);
    const modelId = Buffer.from(descriptor.modelId, "ascii");
    if (modelId.length > MODEL_ID_BYTES) throw new RangeError(`Model id longer than ${MODEL_ID_BYTES} characters`);
    const payloadBytes = dtype === "fp32" ? count * 4 : count * 2;
    const out = Buffer.alloc(HEADER_BYTES + payloadBytes);
    const payload = out.subarray(HEADER_BYTES);
    if (dtype === "fp32") {
        payload.set(new Uint8Array(state.buffer, state.byteOffset, state.byteLength));
    } else {
        toHalf(state, new Uint16Array(out.buffer, out.byteOffset + HEADER_BYTES, count));
    }
    MAGIC.copy(out, 0);
    out.writeUInt16LE(SNAPSHOT_CODEC_VERSION, 8);
    out.writeUInt8(DTYPE_CODES[dtype], 10);
    out.writeUInt32LE(HEADER_BYTES, 12);
    out.writeUInt32LE(descriptor.nLayer, 16);
    out.writeUInt32LE(descriptor.nEmbd, 20);
    out.writeUInt32LE(descriptor.nHead, 24);
    out.writeUInt32LE(descriptor.headSize, 28);
    out.writeBigUInt64LE(BigInt(payloadBytes), 32);
    createHash("sha256").update(payload).digest().copy(out, 40);
    out.writeUInt32LE(modelId.length, 72);
    modelId.copy(out, 80);
    return out;
}

/** Reads and checks the header alone; `wrong_size` when the bytes do not hold the whole payload. */
export function readSnapshotHeader(bytes: Uint8Array): {ok: true, header: SnapshotHeader} | {ok: false, reason: SnapshotRefusal, message: string} {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) return refuse("foreign", "not an rwkv-bot state snapshot");
    const version = buf.readUInt16LE(8);
    if (version !== SNAPSHOT_CODEC_VERSION) return refuse("unsupported_version", `snapshot codec version ${version}, this build reads ${SNAPSHOT_CODEC_VERSION}`);
    if (buf.length < HEADER_BYTES) return refuse("wrong_size", `snapshot truncated inside its header (${buf.length} bytes)`);
    const dtype = buf.readUInt8(10) === DTYPE_CODES.fp16 ? "fp16" : buf.readUInt8(10) === DTYPE_CODES.fp32 ? "fp32" : null;
    if (dtype === null || buf.readUInt32LE(12) !== HEADER_BYTES) return refuse("foreign", "snapshot header is malformed");
    const idLength = Math.min(buf.readUInt32LE(72), MODEL_ID_BYTES);
    const header: SnapshotHeader = {
        version,
        dtype,
        modelId: buf.toString("ascii", 80, 80 + idLength),
        nLayer: buf.readUInt32LE(16),
        nEmbd: buf.readUInt32LE(20),
        nHead: buf.readUInt32LE(24),
        headSize: buf.readUInt32LE(28),
        payloadBytes: Number(buf.readBigUInt64LE(32)),
        checksum: buf.toString("hex", 40, 72),
    };
    const expected = stateElementCount(header) * (dtype === "fp32" ? 4 : 2);
    if (header.payloadBytes !== expected || buf.length !== HEADER_BYTES + expected) {
        return refuse("wrong_size", `snapshot holds ${buf.length - HEADER_BYTES} payload bytes, its header says ${header.payloadBytes}, its dimensions need ${expected}`);
    }
    return {ok: true, header};
}

/**
 * Decodes a snapshot for the model `expected` describes: refuses another model,
 * other dimensions, another codec version, a wrong size or a bad checksum.
 * The returned state is a fresh fp32 array.
 */
export function decodeSnapshot(bytes: Uint8Array, expected: StateDescriptor): DecodedSnapshot {
    const read = readSnapshotHeader(bytes);
    if (!read.ok) return read;
    const {header} = read;
    if (header.modelId !== expected.modelId) {
        return refuse("model_mismatch", `snapshot is for model ${header.modelId.slice(0, 12)}…, the loaded model is ${expected.modelId.slice(0, 12)}…`);
    }
    if (header.nLayer !== expected.nLayer || header.nEmbd !== expected.nEmbd || header.nHead !== expected.nHead || header.headSize !== expected.headSize) {
        return refuse("shape_mismatch", `snapshot dimensions L${header.nLayer} C${header.nEmbd} H${header.nHead}×${header.headSize} differ from the model's L${expected.nLayer} C${expected.nEmbd} H${expected.nHead}×${expected.headSize}`);
    }
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_BYTES, header.payloadBytes);
    if (createHash("sha256").update(payload).digest("hex") !== header.checksum) return refuse("checksum_mismatch", "snapshot checksum does not match its contents");
    const count = stateElementCount(header);
    const state = new Float32Array(count);
    if (header.dtype === "fp32") {
        // A copy: the source may sit at an offset that is not 4-aligned.
        new Uint8Array(state.buffer).set(payload);
    } else {
        const halves = new Uint16Array(count);
        new Uint8Array(halves.buffer).set(payload);
        fromHalf(halves, state);
    }
    return {ok: true, header, state};
}

function refuse(reason: SnapshotRefusal, message: string): {ok: false, reason: SnapshotRefusal, message: string} {
    return {ok: false, reason, message};
}

// fp32 → fp16 bits, round to nearest even; overflow gives ±inf, tiny values subnormals.
function toHalf(source: Float32Array, target: Uint16Array): void {
    const bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
    for (let i = 0; i < bits.length; i++) {
        const x = bits[i]!;
        const sign = (x >>> 16) & 0x8000;
        const exponent = (x >>> 23) & 0xff;
        const mantissa = x & 0x7fffff;
        if (exponent === 0xff) {
            target[i] = sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
            continue;
        }
        const e = exponent - 112;
        if (e >= 31) {
            target[i] = sign | 0x7c00;
        } else if (e <= 0) {
            if (e < -10) {
                target[i] = sign;
                continue;
            }
            const m = mantissa | 0x800000;
            const shift = 14 - e;
            let half = m >>> shift;
            const rest = m & ((1 << shift) - 1);
            const halfway = 1 << (shift - 1);
            if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
            target[i] = sign | half;
        } else {
            let half = (e << 10) | (mantissa >>> 13);
            const rest = mantissa & 0x1fff;
            // A carry out of the mantissa correctly bumps the exponent (up to inf).
            if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
            target[i] = sign | half;
        }
    }
}

let halfTable: Float32Array | undefined;

function fromHalf(source: Uint16Array, target: Float32Array): void {
    halfTable ??= buildHalfTable();
    for (let i = 0; i < source.length; i++) target[i] = halfTable[source[i]!]!;
}

function buildHalfTable(): Float32Array {
    const table = new Float32Array(65536);
    const bits = new Uint32Array(table.buffer);
    for (let h = 0; h < 65536; h++) {
        const sign = (h & 0x8000) << 16;
        const exponent = (h >>> 10) & 0x1f;
        const mantissa = h & 0x3ff;
        if (exponent === 0) {
            table[h] = (sign !== 0 ? -1 : 1) * mantissa * 2 ** -24;
        } else {
            bits[h] = (sign | ((exponent === 31 ? 0xff : exponent + 112) << 23) | (mantissa << 13)) >>> 0;
        }
    }
    return table;
}
