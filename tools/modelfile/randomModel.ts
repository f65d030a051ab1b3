import {EngineError} from "../../src/errors/BotError.ts";
import {writePth} from "./writePth.ts";
import type {PthDtype, PthTensor} from "./PthTensor.ts";

/** Dimensions of an RWKV-5.2 model (docs/rwkv5.md §1). */
export interface RandomModelShape {
    nLayer: number;
    nEmbd: number;
    /** Heads; defaults to `nEmbd / headSize`. */
    nHead?: number;
    headSize: number;
    dimFfn: number;
    nVocab: number;
}

/** Options of {@link writeRandomModel}. */
export interface RandomModelOptions {
    /** Storage dtype of every tensor. Defaults to `"bf16"`, like released checkpoints. */
    dtype?: PthDtype;
    /** Seed of the weights; a tensor's values depend only on the seed and its original name. Defaults to 1. */
    seed?: number;
    /** All tensors as views into one storage (see `WritePthOptions.sharedStorage`). Defaults to `false`. */
    sharedStorage?: boolean;
    /** Zip64 fields even for a small file (see `WritePthOptions.forceZip64`). Defaults to `false`. */
    forceZip64?: boolean;
    /**
     * Renames tensors (return another key) or leaves them out (return `null`),
     * to build foreign or broken checkpoints: RWKV-4/6/7-like keys, a missing tensor.
     */
    mapName?: (name: string) => string | null;
    /** Replaces the shape of the tensors named (by original name), to build files with wrong shapes. */
    reshape?: Readonly<Record<string, readonly number[]>>;
}

type Init =
    | {kind: "uniform"; low: number; high: number}
    | {kind: "normal"; std: number};

interface TensorSpec {
    name: string;
    shape: number[];
    init: Init;
}

/**
 * Writes a valid RWKV-5.2 checkpoint with seeded pseudo-random weights in
 * realistic ranges (decays in [-6, 1], bonus ~ N(0, 0.5), mixes in [0, 1],
 * LayerNorm weights near 1, matrices ~ U(-1, 1)/sqrt(fan-in)), so the forward
 * pass stays finite. Fast enough for benchmark shapes (World 0.4B: ~0.9 GB).
 */
export async function writeRandomModel(path: string, shape: RandomModelShape, options: RandomModelOptions = {}): Promise<void> {
    const dtype = options.dtype ?? "bf16";
    const seed = options.seed ?? 1;
    const tensors: PthTensor[] = [];
    for (const spec of rwkv5TensorSpecs(shape)) {
        const name = options.mapName ? options.mapName(spec.name) : spec.name;
        if (name === null) continue;
        const tensorShape = options.reshape?.[spec.name] ?? spec.shape;
        const numel = tensorShape.reduce((a, b) => a * b, 1);
        const stream = seedFor(seed, spec.name);
        tensors.push({name, dtype, shape: tensorShape, data: () => randomChunks(numel, spec.init, dtype, stream)});
    }
    await writePth(path, tensors, {sharedStorage: options.sharedStorage ?? false, forceZip64: options.forceZip64 ?? false});
}

/** The tensors of docs/rwkv5.md §2 in RWKV-LM's state_dict() order. */
function rwkv5TensorSpecs(shape: RandomModelShape): TensorSpec[] {
    const {nLayer: L, nEmbd: C, headSize: N, dimFfn: F, nVocab: V} = shape;
    const H = shape.nHead ?? C / N;
    if (![L, C, H, N, F, V].every((n) => Number.isSafeInteger(n) && n > 0)) {
        throw new EngineError("engine/invalid_argument", `invalid model shape ${JSON.stringify(shape)}`);
    }
    const A = H * N;
    const matrix = (name: string, rows: number, cols: number): TensorSpec => {
        const bound = 1 / Math.sqrt(cols);
        return {name, shape: [rows, cols], init: {kind: "uniform", low: -bound, high: bound}};
    };
    const ln = (name: string, size: number): TensorSpec[] => [
        {name: `${name}.weight`, shape: [size], init: {kind: "uniform", low: 0.9, high: 1.1}},
        {name: `${name}.bias`, shape: [size], init: {kind: "uniform", low: -0.05, high: 0.05}},
    ];
    const mix = (name: string): TensorSpec => ({name, shape: [1, 1, C], init: {kind: "uniform", low: 0, high: 1}});

    const specs: TensorSpec[] = [{name: "emb.weight", shape: [V, C], init: {kind: "uniform", low: -1, high: 1}}];
    for (let i = 0; i < L; i++) {
        const b = `blocks.${i}.`;
        specs.push(...ln(`${b}ln1`, C), ...ln(`${b}ln2`, C));
        if (i === 0) specs.push(...ln(`${b}ln0`, C));
        specs.push(
            mix(`${b}att.time_mix_k`), mix(`${b}att.time_mix_v`), mix(`${b}att.time_mix_r`), mix(`${b}att.time_mix_g`),
            {name: `${b}att.time_decay`, shape: [H, N], init: {kind: "uniform", low: -6, high: 1}},
            {name: `${b}att.time_faaaa`, shape: [H, N], init: {kind: "normal", std: 0.5}},
            matrix(`${b}att.receptance.weight`, A, C), matrix(`${b}att.key.weight`, A, C),
            matrix(`${b}att.value.weight`, A, C), matrix(`${b}att.output.weight`, C, A),
            matrix(`${b}att.gate.weight`, A, C),
            ...ln(`${b}att.ln_x`, A),
            mix(`${b}ffn.time_mix_k`), mix(`${b}ffn.time_mix_r`),
            matrix(`${b}ffn.key.weight`, F, C), matrix(`${b}ffn.receptance.weight`, C, C),
            matrix(`${b}ffn.value.weight`, C, F),
        );
    }
    specs.push(...ln("ln_out", C), matrix("head.weight", V, C));
    return specs;
}

/** A 32-bit seed from the model seed and the tensor name (FNV-1a), never 0 (xorshift's fixed point). */
function seedFor(seed: number, name: string): number {
    let hash = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
    return hash || 1;
}

const CHUNK_ELEMENTS = 1 << 20;

/** The tensor's bytes in chunks of up to 1 Mi elements; one buffer reused for all chunks. */
function* randomChunks(numel: number, init: Init, dtype: PthDtype, seed: number): Generator<Uint8Array> {
    let state = seed;
    const floats = new Float32Array(Math.min(numel, CHUNK_ELEMENTS));
    const bits = new Uint32Array(floats.buffer);
    const halves = new Uint16Array(floats.length);
    for (let done = 0; done < numel; done += floats.length) {
        const n = Math.min(floats.length, numel - done);
        if (init.kind === "uniform") {
            const scale = (init.high - init.low) * 2.3283064365386963e-10;
            for (let i = 0; i < n; i++) {
                // xorshift32, scaled from [0, 2^32) to [low, high).
                state ^= state << 13;
                state ^= state >>> 17;
                state ^= state << 5;
                floats[i] = init.low + scale * (state >>> 0);
            }
        } else {
            // Box-Muller; only small vectors (the bonus) use it.
            for (let i = 0; i < n; i++) {
                const u: number[] = [];
                for (let k = 0; k < 2; k++) {
                    state ^= state << 13;
                    state ^= state >>> 17;
                    state ^= state << 5;
                    u.push(((state >>> 0) + 0.5) * 2.3283064365386963e-10);
                }
                floats[i] = init.std * Math.sqrt(-2 * Math.log(u[0]!)) * Math.cos(2 * Math.PI * u[1]!);
            }
        }
        if (dtype === "f32") {
            yield new Uint8Array(floats.buffer, 0, n * 4);
        } else {
            if (dtype === "bf16") {
                for (let i = 0; i < n; i++) halves[i] = bits[i]! >>> 16;
            } else {
                for (let i = 0; i < n; i++) halves[i] = floatToHalf(bits[i]!);
            }
            yield new Uint8Array(halves.buffer, 0, n * 2);
        }
    }
}

/** IEEE fp32 bits to fp16 bits, round to nearest even; the generator's values are all in fp16 range. */
function floatToHalf(f: number): number {
    const sign = (f >>> 16) & 0x8000;
    const exponent = ((f >>> 23) & 0xff) - 127 + 15;
    const mantissa = f & 0x7fffff;
    if (exponent <= 0) {
        if (exponent < -10) return sign;
        const m = mantissa | 0x800000;
        const shift = 14 - exponent;
        const half = m >>> shift;
        const rest = m & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        return sign | (half + (rest > halfway || (rest === halfway && (half & 1)) ? 1 : 0));
    }
    if (exponent >= 31) return sign | 0x7c00;
    const half = (exponent << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}
