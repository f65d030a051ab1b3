import {EngineError} from "../../src/errors/BotError.ts";
import {pthDtypeSize, tensorNumel} from "./PthTensor.ts";
import type {PthTensor} from "./PthTensor.ts";

/** The bytes of a storage's tensors in order, checked against their shapes. */
export async function* storageChunks(tensors: readonly PthTensor[]): AsyncIterable<Uint8Array> {
    for (const tensor of tensors) {
        const expected = tensorNumel(tensor) * pthDtypeSize[tensor.dtype];
        let written = 0;
        const source = tensor.data instanceof Uint8Array ? [tensor.data] : tensor.data();
        for await (const chunk of source) {
            written += chunk.byteLength;
            if (written > expected) break;
            yield chunk;
        }
        if (written !== expected) {
            throw new EngineError("engine/invalid_argument",
                `tensor '${tensor.name}' of shape [${tensor.shape.join(", ")}] (${tensor.dtype}) needs ${expected} bytes, its data has ${written > expected ? "more" : written}`);
        }
    }
}
