/** One slot's request waiting for the next engine step, as a strategy sees it. */
export interface BatchCandidate {
    readonly slot: number;
    /** Tokens of the request not fed yet (≥ 1); 1 for a decode step. */
    readonly remaining: number;
}

/** How many tokens of candidate `index` go into the next step (≥ 1). */
export interface BatchAllocation {
    readonly index: number;
    readonly tokens: number;
}

/**
 * Decides what the next batched step carries: given the candidates (at most one per slot,
 * longest-waiting first) and the step's token budget, it returns allocations whose tokens
 * sum to at most `budget`. Candidates left out, or given fewer tokens than they have, wait
 * for a later step with the rest.
 */
export type BatchStrategy = (candidates: readonly BatchCandidate[], budget: number) => BatchAllocation[];
