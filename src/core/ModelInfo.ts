import type {Precision} from "./Precision.ts";

/** What a loaded model is: its dimensions, identity and memory figures. */
export interface ModelInfo {
    /** The file it was loaded from, as given. */
    path: string;
    /** Hex SHA-256 identity of the weights (not of the file name): states are only valid for the same id. */
    modelId: string;
    nVocab: number;
    nEmbd: number;
    nLayer: number;
    nHead: number;
    headSize: number;
    dimAtt: number;
    dimFfn: number;
    /** Parameters in the checkpoint. */
    nParams: number;
    /** Storage dtype of the file's matrices. */
    fileDtype: "f32" | "f16" | "bf16" | "mixed";
    /** How the weights are held. */
    precision: Precision;
    /** The backend in use. */
    backend: "cpu" | "cuda";
    /** Bytes of one slot's fp32 state (docs/rwkv5.md §7 layout). */
    stateByteLength: number;
    /** Bytes of weights resident for the forward pass. */
    weightBytes: number;
    /** Weight bytes one decode step reads: the numerator of the bandwidth roof. */
    decodeBytesPerStep: number;
    /** The memory budget the load was held to (bytes; 0 when none could be measured): `auto` chose by it. */
    memoryBudget: number;
}
