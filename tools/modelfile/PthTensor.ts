import {EngineError} from "../../src/errors/BotError.ts";

/** Storage dtypes the writer produces: IEEE fp32, IEEE fp16, bfloat16 (little-endian). */
export type PthDtype = "f32" | "f16" | "bf16";

/** Bytes per element of each {@link PthDtype}. */
export const pthDtypeSize: Readonly<Record<PthDtype, number>> = {f32: 4, f16: 2, bf16: 2};

/**
 * One tensor of the state dict. `data` is either all its bytes or a function
 * returning its bytes in chunks (sync or async iterable), so that a large
 * model never sits in memory at once. The writer consumes each chunk before it
 * asks for the next, so a generator may reuse one buffer.
 */
export interface PthTensor {
    name: string;
    dtype: PthDtype;
    /** Row-major (contiguous) shape; `[]` for a 0-d tensor. */
    shape: readonly number[];
    data: Uint8Array | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);
}

/** Elements of `tensor`; rejects a shape that is not a list of non-negative integers. */
export function tensorNumel(tensor: PthTensor): number {
    for (const dim of tensor.shape) {
        if (!Number.isSafeInteger(dim) || dim < 0) {
            throw new EngineError("engine/invalid_argument", `tensor '${tensor.name}' has an invalid shape [${tensor.shape.join(", ")}]`);
        }
    }
    return tensor.shape.reduce((a, b) => a * b, 1);
}
