import {PickleBuilder} from "./PickleBuilder.ts";
import type {StorageLayout} from "./planStorages.ts";
import type {PthDtype, PthTensor} from "./PthTensor.ts";

const STORAGE_CLASS: Readonly<Record<PthDtype, string>> = {f32: "FloatStorage", f16: "HalfStorage", bf16: "BFloat16Storage"};

/**
 * The pickle torch.save writes for a state dict, byte for byte as Python's
 * protocol-2 pickler memoises it: every new string, tuple, global and REDUCE
 * result gets a memo slot; the shared 'storage', 'cpu', storage class and
 * storage key objects are fetched back from the memo.
 */
export function pickleStateDict(tensors: readonly PthTensor[], layout: StorageLayout): Buffer {
    const out = new PickleBuilder();
    out.raw(0x80, 2);
    const orderedDict = out.global("collections", "OrderedDict");
    out.raw(0x29, 0x52); // EMPTY_TUPLE REDUCE
    out.memoize();
    const shared = new Map<string, number>();
    const memoized = (id: string, emit: () => number): void => {
        const slot = shared.get(id);
        if (slot === undefined) shared.set(id, emit());
        else out.get(slot);
    };
    const writeItem = (tensor: PthTensor, index: number): void => {
        const {key, offset} = layout.placement[index]!;
        const storage = layout.storages.get(key)!;
        out.string(tensor.name);
        memoized("rebuild", () => out.global("torch._utils", "_rebuild_tensor_v2"));
        out.raw(0x28, 0x28); // MARK MARK
        memoized("'storage'", () => out.string("storage"));
        memoized(`class ${storage.dtype}`, () => out.global("torch", STORAGE_CLASS[storage.dtype]));
        memoized(`key ${key}`, () => out.string(key));
        memoized("'cpu'", () => out.string("cpu"));
        out.int(storage.numel);
        out.raw(0x74); // TUPLE
        out.memoize();
        out.raw(0x51); // BINPERSID
        out.int(offset);
        out.tuple(tensor.shape);
        out.tuple(contiguousStrides(tensor.shape));
        out.raw(0x89); // NEWFALSE: requires_grad
        out.get(orderedDict); // backward_hooks = OrderedDict()
        out.raw(0x29, 0x52);
        out.memoize();
        out.raw(0x74);
        out.memoize();
        out.raw(0x52);
        out.memoize();
    };
    // Python's pickler emits dict items in batches of 1000 (SETITEM for a batch of one).
    for (let start = 0; start < tensors.length; start += 1000) {
        const batch = tensors.slice(start, start + 1000);
        if (batch.length > 1) out.raw(0x28);
        batch.forEach((tensor, i) => writeItem(tensor, start + i));
        out.raw(batch.length > 1 ? 0x75 : 0x73);
    }
    // BUILD with {'_metadata': OrderedDict()}: module version bookkeeping, empty here.
    out.raw(0x7d);
    out.memoize();
    out.string("_metadata");
    out.get(orderedDict);
    out.raw(0x29, 0x52);
    out.memoize();
    out.raw(0x73, 0x62, 0x2e); // SETITEM BUILD STOP
    return out.finish();
}

function contiguousStrides(shape: readonly number[]): number[] {
    const strides = new Array<number>(shape.length);
    let step = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
        strides[d] = step;
        step *= shape[d]!;
    }
    return strides;
}
