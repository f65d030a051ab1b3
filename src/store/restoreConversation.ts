import type {StateDescriptor} from "./StateDescriptor.ts";
import type {CheckpointRefusal, StateStore} from "./StateStore.ts";

/**
 * Where a restored state goes: the runtime implements it over an engine slot
 * (importState + step without logits), so the store needs no engine import.
 */
export interface StateReplayer {
    readonly descriptor: StateDescriptor;
    /** Sets the state (null = the zero state). */
    load(state: Float32Array | null): Promise<void>;
    /** Feeds tokens into the state, as the original turns did. */
    feed(tokens: Uint32Array): Promise<void>;
}

/** What a restore did. */
export interface RestoreOutcome {
    readonly epoch: number;
    readonly logLength: number;
    /** Log position of the checkpoint used; 0 when started from zero. */
    readonly fromLogSeq: number;
    readonly replayedTokens: number;
    readonly refusals: readonly CheckpointRefusal[];
}

/**
 * Restores a conversation into `replayer`: the latest usable checkpoint, then
 * the logged tokens after it (the replayer steps them in chunks).
 */
export async function restoreConversation(store: StateStore, key: string, replayer: StateReplayer): Promise<RestoreOutcome> {
    const plan = await store.planRestore(key, replayer.descriptor);
    await replayer.load(plan.checkpoint?.state ?? null);
    if (plan.replayTokens.length > 0) await replayer.feed(plan.replayTokens);
    return {
        epoch: plan.epoch,
        logLength: plan.logLength,
        fromLogSeq: plan.checkpoint?.logSeq ?? 0,
        replayedTokens: plan.replayTokens.length,
        refusals: plan.refusals,
    };
}
