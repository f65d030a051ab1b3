import type {AddonContext, AddonModel, AddonModelInfo} from "../bindings/AddonTypes.ts";
import {asEngineError} from "../bindings/asEngineError.ts";
import {getAddon} from "../bindings/getAddon.ts";
import type {ModelInfo} from "../core/ModelInfo.ts";
import {EngineError} from "../errors/BotError.ts";
import type {PrecisionRequest} from "../core/Precision.ts";
import {RwkvEngine, type RwkvEngineOptions} from "./RwkvEngine.ts";

/** Options of {@link RwkvModel.load}. */
export interface RwkvModelLoadOptions {
    /** How the weights are held (see {@link PrecisionRequest}). Defaults to `"16bit"`. */
    precision?: PrecisionRequest;
    /**
     * Bytes the weights may occupy where they load to. Defaults to the free memory there less a
     * 512 MiB reserve; a load over it fails with `engine/out_of_memory` before allocating.
     */
    memoryBudget?: number;
    /** `"auto"` picks CUDA when built and usable, else CPU. Defaults to `"auto"`. */
    backend?: "auto" | "cpu" | "cuda";
    /** Threads used by the load (conversion, hashing). Defaults to all cores. */
    threads?: number;
    /** Called with the fraction loaded (0..1, non-decreasing, 1 last), always before the promise settles. */
    onProgress?: (fraction: number) => void;
    /** Aborting it makes the load reject with EngineError `engine/aborted`. */
    signal?: AbortSignal;
}

function abortedError(signal: AbortSignal): EngineError {
    return new EngineError("engine/aborted", "The model load was aborted", {cause: signal.reason});
}

function toModelInfo(path: string, info: AddonModelInfo): ModelInfo {
    return {
        path,
        modelId: info.modelId,
        nVocab: info.nVocab,
        nEmbd: info.nEmbd,
        nLayer: info.nLayer,
        nHead: info.nHead,
        headSize: info.headSize,
        dimAtt: info.dimAtt,
        dimFfn: info.dimFfn,
        nParams: info.nParams,
        fileDtype: info.fileDtype,
        precision: info.weightType,
        backend: info.backend,
        stateByteLength: info.stateSize,
        weightBytes: info.weightBytes,
        decodeBytesPerStep: info.decodeBytesPerStep,
        memoryBudget: info.memoryBudget,
    };
}

/**
 * A loaded RWKV-5.2 checkpoint (`.pth`). Immutable once loaded; engines made
 * from it share its weights. Dispose it when done: it holds the weights' memory.
 */
export class RwkvModel {
    /** Dimensions, identity and sizes of the loaded weights. */
    readonly info: ModelInfo;
    readonly #native: AddonModel;
    readonly #engines = new Set<RwkvEngine>();

    private constructor(native: AddonModel, info: ModelInfo) {
        this.#native = native;
        this.info = info;
    }

    /**
     * Loads a checkpoint without blocking the event loop.
     *
     * @throws EngineError `engine/io`, `engine/bad_archive`, `engine/checksum_mismatch`, `engine/unsupported_model`, … for a bad file,
     * `engine/out_of_memory` when the weights exceed the memory budget (the message says what would fit),
     * `engine/aborted` when `signal` aborts (at once if it already has), `engine/no_binary` without the addon.
     */
    static async load(path: string, options: RwkvModelLoadOptions = {}): Promise<RwkvModel> {
        const {signal, onProgress} = options;
        if (signal?.aborted) throw abortedError(signal);
        let native: AddonModel;
        try {
            native = new (getAddon().AddonModel)(path, {
                weightType: options.precision ?? "16bit",
                backend: options.backend ?? "auto",
                threads: options.threads ?? 0,
                ...(options.memoryBudget === undefined ? {} : {memoryBudget: options.memoryBudget}),
            });
        } catch (error) {
            throw asEngineError(error);
        }
        // A throwing listener stops the load and becomes its rejection.
        let listenerError: {error: unknown} | undefined;
        const report = onProgress && ((fraction: number) => {
            try {
                onProgress(fraction);
            } catch (error) {
                listenerError ??= {error};
                native.abortLoad();
            }
        });
        const abort = () => native.abortLoad();
        signal?.addEventListener("abort", abort, {once: true});
        try {
            await native.load(report);
        } catch (error) {
            if (listenerError !== undefined) throw listenerError.error;
            if (signal?.aborted) throw abortedError(signal);
            throw asEngineError(error);
        } finally {
            signal?.removeEventListener("abort", abort);
        }
        // The load may have finished before the abort or the listener's failure reached it.
        if (signal?.aborted || listenerError !== undefined) {
            await native.dispose();
            if (listenerError !== undefined) throw listenerError.error;
            throw abortedError(signal!);
        }
        return new RwkvModel(native, toModelInfo(path, native.info()));
    }

    /**
     * Creates an engine with `slots` independent states, all zero.
     *
     * @throws EngineError `engine/disposed` after {@link dispose}, `engine/invalid_argument` for bad options.
     */
    async createEngine(options: RwkvEngineOptions): Promise<RwkvEngine> {
        const {slots} = options;
        if (!Number.isInteger(slots) || slots < 1) {
            throw new EngineError("engine/invalid_argument", `slots must be a positive integer, got ${slots}`);
        }
        let native: AddonContext;
        try {
            native = new (getAddon().AddonContext)(this.#native, {
                slots,
                threads: options.threads ?? 0,
                ...(options.maxBatchTokens === undefined ? {} : {maxBatchTokens: options.maxBatchTokens}),
            });
        } catch (error) {
            throw asEngineError(error);
        }
        try {
            await native.init();
        } catch (error) {
            await native.dispose();
            throw asEngineError(error);
        }
        const engine = new RwkvEngine(native, this.info, slots, () => this.#engines.delete(engine));
        this.#engines.add(engine);
        return engine;
    }

    /** Disposes every engine made from this model, then frees the weights. Idempotent. */
    async dispose(): Promise<void> {
        await Promise.all([...this.#engines].map((engine) => engine.dispose()));
        await this.#native.dispose();
    }
}
