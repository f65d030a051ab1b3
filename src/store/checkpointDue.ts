/** When to checkpoint a live conversation besides eviction, shutdown and export. */
export interface CheckpointPolicy {
    /** Checkpoint once this many tokens were logged since the last one. Defaults to 2048. */
    readonly everyTokens: number;
    /** Checkpoint after this much quiet (ms) when anything is unsaved. Defaults to 60 000. */
    readonly quietMs: number;
}

/** The defaults of {@link CheckpointPolicy}. */
export const defaultCheckpointPolicy: CheckpointPolicy = {everyTokens: 2048, quietMs: 60_000};

/**
 * Whether a conversation's state is due for a checkpoint, and why: replay cost
 * grows with the tokens since the last checkpoint, so bound it by count, and
 * use quiet time to save without delaying a reply.
 */
export function checkpointDue(policy: CheckpointPolicy, tokensSinceCheckpoint: number, quietMs: number): "tokens" | "quiet" | null {
    if (tokensSinceCheckpoint <= 0) return null;
    if (tokensSinceCheckpoint >= policy.everyTokens) return "tokens";
    return quietMs >= policy.quietMs ? "quiet" : null;
}
