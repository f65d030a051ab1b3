import type {SlotStates} from "../core/SlotStates.ts";
import type {Stepper} from "../core/Stepper.ts";
import type {StateReplayer} from "../store/restoreConversation.ts";
import type {StateDescriptor} from "../store/StateDescriptor.ts";
import {prefill} from "./prefill.ts";

/**
 * Restores a conversation into one engine slot: a checkpoint is imported, the
 * logged tokens after it are stepped without logits. Replay reproduces the
 * state bit for bit because the engine's results do not depend on how tokens
 * are split into steps (docs/rwkv5.md §6, chunked prefill).
 */
export class EngineSlotReplayer implements StateReplayer {
    /** The engine's model: `ModelInfo` carries every field a state descriptor needs. */
    readonly descriptor: StateDescriptor;

    /**
     * @param chunkTokens tokens per engine step; at most the engine's `maxBatchTokens`. Defaults to 512, the engine's default.
     */
    constructor(
        private readonly engine: Pick<SlotStates, "info" | "importState"> & Stepper,
        private readonly slot: number,
        private readonly chunkTokens = 512,
    ) {
        this.descriptor = engine.info;
    }

    async load(state: Float32Array | null): Promise<void> {
        await this.engine.importState(this.slot, state);
    }

    async feed(tokens: Uint32Array): Promise<void> {
        await prefill(this.engine, this.slot, tokens, this.chunkTokens);
    }
}
