import type {AddonBatchItem, AddonContext, AddonLogitsMode, AddonSampling} from "../bindings/AddonTypes.ts";
import {asEngineError} from "../bindings/asEngineError.ts";
import type {ModelInfo} from "../core/ModelInfo.ts";
import type {SlotStates} from "../core/SlotStates.ts";
import type {StepItem, StepOutput, StepSampling, Stepper} from "../core/Stepper.ts";
import {EngineError} from "../errors/BotError.ts";

/** Options of `RwkvModel.createEngine`. */
export interface RwkvEngineOptions {
    /** Independent state slots (conversations held at once), ≥ 1. */
    slots: number;
    /** Compute threads. Defaults to all cores. */
    threads?: number;
    /** Most tokens one {@link RwkvEngine.step} may carry, summed over items; bounds scratch memory. Defaults to 512. */
    maxBatchTokens?: number;
}

/** One row of {@link RwkvEngine.sampleLogits}. */
export interface SampleLogitsItem {
    /** The slot whose penalty counts apply (and record the token); distinct across the rows. */
    slot: number;
    /** `nVocab` logits. */
    logits: Float32Array;
    sample: StepSampling;
}

const logitsModes: Readonly<Record<string, AddonLogitsMode>> = {none: 0, last: 1, all: 2};

/**
 * N recurrent states (slots) over one model, advanced by batched forward
 * passes. Mechanism only: which slots step together, and with how many
 * tokens, is the caller's policy. Calls run one at a time, in call order.
 */
export class RwkvEngine implements Stepper, SlotStates {
    /** The model's info. */
    readonly info: ModelInfo;
    /** Number of slots. */
    readonly slotCount: number;
    readonly #native: AddonContext;
    readonly #onDispose: () => void;
    // Native calls are chained so they run in call order and a waiting call
    // never holds a libuv pool thread.
    #queue: Promise<unknown> = Promise.resolve();
    #disposed = false;

    /** Made by `RwkvModel.createEngine`, which owns the native context it passes in. */
    constructor(native: AddonContext, info: ModelInfo, slotCount: number, onDispose: () => void) {
        this.#native = native;
        this.info = info;
        this.slotCount = slotCount;
        this.#onDispose = onDispose;
    }

    /**
     * Runs ONE batched forward pass over all items: each slot advances by its
     * tokens exactly as if fed one by one. On failure no slot has changed.
     *
     * @returns one output per item, in item order.
     * @throws EngineError `engine/invalid_argument` (bad slot or token, repeated slot, too many tokens), `engine/disposed`.
     */
    async step(items: readonly StepItem[]): Promise<StepOutput[]> {
        this.#throwIfDisposed();
        const batch = items.map((item, index): AddonBatchItem => ({
            slot: this.#checkSlot(item.slot),
            tokens: this.#checkTokens(item.tokens, index),
            logits: this.#checkLogitsMode(item.logits ?? "last", index),
            ...(item.sample === undefined ? {} : {sampling: addonSampling(item.sample)}),
        }));
        const outputs = await this.#serial(() => this.#native.decode(batch));
        return outputs.map(({logits, token}) => ({rows: logits === null ? 0 : logits.length / this.info.nVocab, logits, token: token < 0 ? null : token}));
    }

    /**
     * Samples one token per row from the given logits as {@link RwkvEngine.step} samples from the
     * model's (the slots' penalty counts apply and record the tokens): the engine's sampling on
     * rows of the caller's choosing, for tests and tools.
     *
     * @throws EngineError `engine/invalid_argument` (bad slot, repeated slot, row length, parameters), `engine/disposed`.
     */
    async sampleLogits(items: readonly SampleLogitsItem[]): Promise<number[]> {
        this.#throwIfDisposed();
        const {nVocab} = this.info;
        const logits = new Float32Array(items.length * nVocab);
        items.forEach((item, index) => {
            this.#checkSlot(item.slot);
            if (item.logits.length !== nVocab) {
                throw new EngineError("engine/invalid_argument", `Row ${index} has ${item.logits.length} logits, not ${nVocab}`);
            }
            logits.set(item.logits, index * nVocab);
        });
        const slots = Int32Array.from(items, (item) => item.slot);
        const sampling = items.map((item) => addonSampling(item.sample));
        return Array.from(await this.#serial(() => this.#native.sampleLogits(logits, slots, sampling)));
    }

    /** A copy of a slot's state: `stateByteLength / 4` floats, docs/rwkv5.md §7 layout. */
    async exportState(slot: number): Promise<Float32Array> {
        this.#throwIfDisposed();
        this.#checkSlot(slot);
        return this.#serial(() => this.#native.getState(slot));
    }

    /**
     * Replaces a slot's state with a copy of `state` (docs/rwkv5.md §7 layout, exactly
     * `stateByteLength` bytes); null = the zero state of a fresh conversation.
     * The copy is taken when the call runs: leave `state` unchanged until the promise settles.
     */
    async importState(slot: number, state: Float32Array | null): Promise<void> {
        this.#throwIfDisposed();
        this.#checkSlot(slot);
        return this.#serial(() => this.#native.setState(slot, state));
    }

    /**
     * Frees the slots once the calls already made have settled. Idempotent;
     * every later call rejects with `engine/disposed`.
     */
    async dispose(): Promise<void> {
        if (this.#disposed) return;
        this.#disposed = true;
        this.#onDispose();
        await this.#serial(() => this.#native.dispose());
    }

    #serial<T>(call: () => Promise<T>): Promise<T> {
        const result = this.#queue.then(call).catch((error: unknown) => {
            throw asEngineError(error);
        });
        this.#queue = result.catch(() => undefined);
        return result;
    }

    #throwIfDisposed(): void {
        if (this.#disposed) throw new EngineError("engine/disposed", "The engine is disposed");
    }

    #checkSlot(slot: number): number {
        if (!Number.isInteger(slot) || slot < 0 || slot >= this.slotCount) {
            throw new EngineError("engine/invalid_argument", `Slot ${slot} is outside [0, ${this.slotCount})`);
        }
        return slot;
    }

    #checkTokens(tokens: ArrayLike<number>, item: number): Int32Array {
        const {nVocab} = this.info;
        for (let i = 0; i < tokens.length; i++) {
            const token = tokens[i]!;
            if (!Number.isInteger(token) || token < 0 || token >= nVocab) {
                throw new EngineError(
                    "engine/invalid_argument",
                    `Item ${item}: token ${i} is ${token}, not an integer id in [0, ${nVocab})`,
                );
            }
        }
        // A copy: the call may wait in the queue while the caller reuses its array.
        return Int32Array.from(tokens);
    }

    #checkLogitsMode(mode: string, item: number): AddonLogitsMode {
        const value = logitsModes[mode];
        if (value === undefined) {
            throw new EngineError("engine/invalid_argument", `Item ${item}: logits must be "none", "last" or "all"`);
        }
        return value;
    }
}

function addonSampling({params, uniform, newReply}: StepSampling): AddonSampling {
    return {...params, uniform, newReply: newReply === true};
}
