import {describe, expect, it} from "vitest";
import {decodeSnapshot, encodeSnapshot, readSnapshotHeader, SNAPSHOT_HEADER_BYTES} from "../../../src/store/snapshotCodec.ts";
import {stateElementCount} from "../../../src/store/StateDescriptor.ts";

const descriptor = {modelId: "0123456789abcdef".repeat(4), nLayer: 3, nEmbd: 16, nHead: 2, headSize: 8};

function randomState(): Float32Array {
    const state = new Float32Array(stateElementCount(descriptor));
    let seed = 12345;
    for (let i = 0; i < state.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        state[i] = ((seed / 2 ** 32) - 0.5) * 160;
    }
    return state;
}

describe("snapshotCodec", () => {
    it("round-trips fp32 bit for bit, with the header describing the state", () => {
        const state = randomState();
        const bytes = encodeSnapshot(state, descriptor);
        expect(bytes.length).toBe(SNAPSHOT_HEADER_BYTES + state.byteLength);
        const decoded = decodeSnapshot(bytes, descriptor);
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.header).toMatchObject({version: 1, dtype: "fp32", ...descriptor, payloadBytes: state.byteLength});
        expect(Buffer.from(decoded.state.buffer).equals(Buffer.from(state.buffer))).toBe(true);
    });

    it("decodes from an unaligned buffer", () => {
        const bytes = encodeSnapshot(randomState(), descriptor);
        const shifted = new Uint8Array(bytes.length + 1).subarray(1);
        shifted.set(bytes);
        expect(decodeSnapshot(shifted, descriptor).ok).toBe(true);
    });

    it("stores fp16 in half the bytes within half an fp16 ulp", () => {
        const state = randomState();
        const bytes = encodeSnapshot(state, descriptor, "fp16");
        expect(bytes.length).toBe(SNAPSHOT_HEADER_BYTES + state.length * 2);
        const decoded = decodeSnapshot(bytes, descriptor);
        if (!decoded.ok) throw new Error(decoded.message);
        for (let i = 0; i < state.length; i++) {
            expect(Math.abs(decoded.state[i]! - state[i]!)).toBeLessThanOrEqual(Math.abs(state[i]!) * 2 ** -11 + 2 ** -25);
        }
    });

    it("rounds fp16 to nearest even and keeps zeros, subnormals and overflow", () => {
        const values = new Float32Array([0, -0, 1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 65504, 1e6, -1e6]);
        const tiny = {modelId: "m", nLayer: 1, nEmbd: 1, nHead: 1, headSize: 1};
        const out: number[] = [];
        for (let i = 0; i < values.length; i += 3) {
            const decoded = decodeSnapshot(encodeSnapshot(values.subarray(i, i + 3), tiny, "fp16"), tiny);
            if (!decoded.ok) throw new Error(decoded.message);
            out.push(...decoded.state);
        }
        expect(out).toEqual([0, -0, 1, 1, 1 + 2 * 2 ** -10, 2 ** -24, 65504, Infinity, -Infinity]);
    });

    it("refuses another model, other dimensions, a wrong size, a bad checksum, another version and foreign bytes", () => {
        const bytes = encodeSnapshot(randomState(), descriptor);
        const reason = (b: Uint8Array, d = descriptor) => {
            const r = decodeSnapshot(b, d);
            return r.ok ? "ok" : r.reason;
        };
        expect(reason(bytes, {...descriptor, modelId: "f".repeat(64)})).toBe("model_mismatch");
        expect(reason(bytes, {...descriptor, nEmbd: 32})).toBe("shape_mismatch");
        expect(reason(bytes.subarray(0, bytes.length - 4))).toBe("wrong_size");
        expect(reason(bytes.subarray(0, 100))).toBe("wrong_size");
        const flipped = Buffer.from(bytes);
        flipped[SNAPSHOT_HEADER_BYTES + 10]! ^= 0x40;
        expect(reason(flipped)).toBe("checksum_mismatch");
        const future = Buffer.from(bytes);
        future.writeUInt16LE(2, 8);
        expect(reason(future)).toBe("unsupported_version");
        expect(reason(Buffer.from("hello world, not a snapshot"))).toBe("foreign");
        expect(readSnapshotHeader(new Uint8Array(0)).ok).toBe(false);
    });

    it("rejects a state whose length does not match the descriptor", () => {
        expect(() => encodeSnapshot(new Float32Array(3), descriptor)).toThrow(RangeError);
    });
});
