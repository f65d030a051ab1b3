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
    /**
     * How the weights are held: `Precision` of src/inference/Precision.ts, spelled out because the
     * contracts import nothing above them (`toModelInfo` fails to compile if the two part ways).
     */
    precision: "fp32" | "16bit" | "int8";
    /** The backend in use. */
    backend: "cpu" | "cuda";
    /** Bytes of one slot's fp32 state (docs/rwkv5.md §7 layout). */
    stateByteLength: number;
    /** Bytes of weights resident for the forward pass. */
    weightBytes: number;
    /** Weight bytes one decode step reads: the numerator of the bandwidth roof. */
    decodeBytesPerStep: number;
}
