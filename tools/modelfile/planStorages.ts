import {EngineError} from "../../src/errors/BotError.ts";
import {pthDtypeSize, tensorNumel} from "./PthTensor.ts";
import type {PthTensor, PthDtype} from "./PthTensor.ts";

/** One storage entry of the archive: the tensors it holds, back to back. */
export interface StoragePlan {
    dtype: PthDtype;
    numel: number;
    bytes: number;
    tensors: PthTensor[];
}

/** Which storage each tensor lives in, and where. */
export interface StorageLayout {
    storages: Map<string, StoragePlan>;
    /** Per tensor (input order): storage key and element offset. */
    placement: {key: string; offset: number}[];
}

/** One storage per tensor, or one shared by all (`shared`, the DeepSpeed ZeRO layout). */
export function planStorages(tensors: readonly PthTensor[], shared: boolean): StorageLayout {
    const storages = new Map<string, StoragePlan>();
    const placement: {key: string; offset: number}[] = [];
    tensors.forEach((tensor, index) => {
        const numel = tensorNumel(tensor);
        const key = shared ? "0" : String(index);
        let storage = storages.get(key);
        if (!storage) {
            storage = {dtype: tensor.dtype, numel: 0, bytes: 0, tensors: []};
            storages.set(key, storage);
        }
        if (storage.dtype !== tensor.dtype) {
            throw new EngineError("engine/invalid_argument",
                `a shared storage holds one dtype, but '${tensor.name}' is ${tensor.dtype} and others are ${storage.dtype}`);
        }
        placement.push({key, offset: storage.numel});
        storage.numel += numel;
        storage.bytes += numel * pthDtypeSize[tensor.dtype];
        storage.tensors.push(tensor);
    });
    return {storages, placement};
}
