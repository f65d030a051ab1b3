import type {ModelInfo} from "./ModelInfo.ts";

/** The state side of an engine: what a conversation saves, restores and checks its states against. */
export interface SlotStates {
    /** The model the states belong to. */
    readonly info: ModelInfo;
    /** A copy of a slot's state: `stateByteLength / 4` floats, docs/rwkv5.md §7 layout. */
    exportState(slot: number): Promise<Float32Array>;
    /** Replaces a slot's state with a copy of `state`; null = the zero state of a fresh conversation. */
    importState(slot: number, state: Float32Array | null): Promise<void>;
}
