/**
 * How the weights are held for the forward pass. The same words everywhere: `ENGINE_PRECISION`,
 * the CLI's `--precision`, `RwkvModel.load`, the addon, and (as `rwkv5_weight_type`) the C header;
 * src/inference/Precision.ts reads and describes them.
 *
 * - `"fp32"`: every weight converted to fp32; the reference path, matching the goldens within the fp32 tolerances.
 * - `"16bit"`: matrices as 16-bit floats (the file's bf16/fp16), fp32 accumulation; half the memory of fp32.
 * - `"int8"`: matrices quantized at load to int8 with an fp32 scale per 64 columns of a row, fp32
 *   accumulation; half the memory of 16-bit and faster decode on a CPU. CPU and CUDA backends.
 */
export type Precision = "fp32" | "16bit" | "int8";

/**
 * What a load asks for: a precision, or `"auto"`: 16-bit weights when they fit the memory budget
 * (the free memory of the host or the GPU they load to, or `ENGINE_MEMORY_BUDGET`), else int8.
 * A loaded model's {@link Precision} says which it took.
 */
export type PrecisionRequest = Precision | "auto";
