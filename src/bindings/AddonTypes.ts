/**
 * The single typed description of everything `rwkv5_addon.node` exports
 * (native/src/addon.cpp). Only primitives, typed arrays and plain objects
 * cross it; every rejection is an `Error` with `code` = `engine/<status>`.
 * Nothing outside src/bindings and src/inference uses these types.
 */

import type {Precision, PrecisionRequest} from "../core/Precision.ts";

/** Constructor parameters of {@link AddonModel}. */
export interface AddonModelParams {
    weightType: PrecisionRequest;
    backend: "auto" | "cpu" | "cuda";
    /** Threads used by the load; 0 = all cores. */
    threads: number;
    /** Bytes the weights may occupy; 0 or absent = the free memory less a reserve. Over it, the load fails with `engine/out_of_memory`. */
    memoryBudget?: number;
}

/** `rwkv5_model_info`, field for field. Sizes are bytes. */
export interface AddonModelInfo {
    nVocab: number;
    nEmbd: number;
    nLayer: number;
    nHead: number;
    headSize: number;
    dimAtt: number;
    dimFfn: number;
    nParams: number;
    fileDtype: "f32" | "f16" | "bf16" | "mixed";
    weightType: Precision;
    backend: "cpu" | "cuda";
    stateSize: number;
    weightBytes: number;
    decodeBytesPerStep: number;
    /** The budget the load was held to; 0 when none could be measured. */
    memoryBudget: number;
    /** Hex SHA-256 identity of the weights. */
    modelId: string;
}

/** One rwkv5_model: constructed unloaded, then {@link AddonModel.load}ed once. */
export interface AddonModel {
    /** Loads the file in a worker; `onProgress` gets fractions 0..1, non-decreasing, 1 last, all before the promise settles. */
    load(onProgress?: (fraction: number) => void): Promise<void>;
    /** Makes a running load fail with `engine/aborted` at its next progress report. */
    abortLoad(): void;
    /** Throws `engine/disposed` after dispose, `engine/invalid_argument` before the load finished. */
    info(): AddonModelInfo;
    /** Idempotent. The weights are freed once every context made from this model is disposed too. */
    dispose(): Promise<void>;
}

/** Constructor parameters of {@link AddonContext}; absent fields take the C defaults. */
export interface AddonContextParams {
    slots: number;
    /** Compute threads; 0 = all cores. */
    threads?: number;
    /** Most tokens in one decode, summed over items (C default 512). */
    maxBatchTokens?: number;
}

/** `rwkv5_logits_mode`: 0 = none, 1 = the last token's row, 2 = one row per token. */
export type AddonLogitsMode = 0 | 1 | 2;

/** `rwkv5_sampling_params`: how the engine draws a token (docs/rwkv5.md §9). */
export interface AddonSampling {
    temperature: number;
    topP: number;
    topK: number;
    presencePenalty: number;
    frequencyPenalty: number;
    penaltyDecay: number;
    /** Ids in [0, nVocab) whose logit becomes -∞. */
    banned: Int32Array;
    /** Ids recorded with count 0 when sampled. */
    uncounted: Int32Array;
    /** The caller's draw in [0, 1). */
    uniform: number;
    /** Clears the slot's penalty counts first. */
    newReply: boolean;
}

/** One item of {@link AddonContext.decode}: `rwkv5_batch_item`. */
export interface AddonBatchItem {
    slot: number;
    tokens: Int32Array;
    logits: AddonLogitsMode;
    /** Absent: no token is sampled. */
    sampling?: AddonSampling;
}

/** What {@link AddonContext.decode} gives per item. */
export interface AddonDecodeOutput {
    /** Its logits rows × nVocab (row-major), or null when it asked for none. */
    logits: Float32Array | null;
    /** The sampled token, or -1 when it did not sample. */
    token: number;
}

/** One rwkv5_context: N state slots over a loaded model. Calls on one context run one at a time. */
export interface AddonContext {
    /** Creates the native context (all slots zero); call once, before anything else. */
    init(): Promise<void>;
    /** One batched forward pass; per item its logits and sampled token. */
    decode(items: readonly AddonBatchItem[]): Promise<AddonDecodeOutput[]>;
    /** Samples one token per row of `logits` (rows × nVocab) with the penalty counts of `slots[i]` (distinct). */
    sampleLogits(logits: Float32Array, slots: Int32Array, sampling: readonly AddonSampling[]): Promise<Int32Array>;
    /** A copy of a slot's fp32 state (docs/rwkv5.md §7 layout). */
    getState(slot: number): Promise<Float32Array>;
    /** Replaces a slot's state; null = the zero state. */
    setState(slot: number, state: Float32Array | null): Promise<void>;
    /** Idempotent; calls after it reject with `engine/disposed`. */
    dispose(): Promise<void>;
}

/** The module's exports. */
export interface AddonBinding {
    AddonModel: new (path: string, params: AddonModelParams) => AddonModel;
    AddonContext: new (model: AddonModel, params: AddonContextParams) => AddonContext;
    /** E.g. `"cpu: avx512f=1 avx2=1 fma=1 f16c=1 threads=2; cuda: 0 devices"`. */
    systemInfo(): string;
    /** The SIMD level of the CPU kernels: `"avx512"`, `"avx2"` or `"scalar"`. */
    cpuKernel(): string;
    supportsCuda(): boolean;
    /** Best-of-`reps` host read bandwidth in bytes/s over a `bytes` buffer with `threads` threads (0 = all). */
    measureReadBandwidth(bytes: number, threads: number, reps: number): Promise<number>;
}
