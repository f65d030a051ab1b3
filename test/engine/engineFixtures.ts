// Shared by the engine-tier tests: the golden sets in test/fixtures and the
// comparisons docs/rwkv5.md §11 asks for.
import {readFileSync} from "node:fs";
import {fixturesDir} from "../helpers/fixtures.ts";

export interface GoldenSet {
    name: string;
    config: {vocab_size: number; n_embd: number; n_layer: number; n_head: number; head_size: number};
    tokens: number[];
    split: number;
    resume_tokens: number[];
}

/** The golden set of a fixture model, e.g. `tiny-L3-C128-V1024`. */
export function golden(name: string): GoldenSet {
    const manifest = JSON.parse(readFileSync(`${fixturesDir}/golden/${name}/manifest.json`, "utf8")) as Omit<GoldenSet, "name">;
    return {name, ...manifest};
}

/** A float32 little-endian golden file of a set. */
export function goldenFloats(set: GoldenSet, file: string): Float32Array {
    return readF32(`${fixturesDir}/golden/${set.name}/${file}`);
}

export function readF32(path: string): Float32Array {
    const bytes = readFileSync(path);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function modelPath(file: string): string {
    return `${fixturesDir}/models/${file}`;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    return max;
}

/** Max |Δ| of a state's token-shift parts (att_x, ffn_x) and of its WKV matrices, separately (docs/rwkv5.md §7). */
export function stateDiff(set: GoldenSet, a: Float32Array, b: Float32Array): {shift: number; wkv: number} {
    const {n_embd: c, n_layer: layers, n_head: h, head_size: n} = set.config;
    const perLayer = 2 * c + h * n * n;
    if (a.length !== layers * perLayer || b.length !== a.length) throw new Error(`state length ${a.length}/${b.length}`);
    let shift = 0;
    let wkv = 0;
    for (let layer = 0; layer < layers; layer++) {
        const base = layer * perLayer;
        shift = Math.max(shift, maxAbsDiff(a.subarray(base, base + c), b.subarray(base, base + c)));
        wkv = Math.max(wkv, maxAbsDiff(a.subarray(base + c, base + perLayer - c), b.subarray(base + c, base + perLayer - c)));
        shift = Math.max(shift, maxAbsDiff(a.subarray(base + perLayer - c, base + perLayer), b.subarray(base + perLayer - c, base + perLayer)));
    }
    return {shift, wkv};
}

/** docs/rwkv5.md §11, "fp32 everywhere": logits, att_x/ffn_x and S. */
export const fp32Tolerance = {logits: 2e-3, shift: 5e-4, wkv: 2e-3};
/** docs/rwkv5.md §11, 16-bit weights with fp32 accumulation and state. */
export const fastTolerance = {logits: 0.1, shift: 0.02, wkv: 0.2};

/** Row `row` of a rows × nVocab matrix. */
export function row(matrix: Float32Array, row: number, nVocab: number): Float32Array {
    return matrix.subarray(row * nVocab, (row + 1) * nVocab);
}
