import type {BatchAllocation, BatchCandidate} from "../BatchStrategy.ts";

/**
 * Longest-waiting first, each candidate taking all its tokens while the budget lasts (the
 * last one admitted may be cut). Lower latency for the oldest request, less fairness.
 */
export function firstInFirstOut(candidates: readonly BatchCandidate[], budget: number): BatchAllocation[] {
    const allocations: BatchAllocation[] = [];
    let left = budget;
    for (let index = 0; index < candidates.length && left > 0; index++) {
        const tokens = Math.min(candidates[index]!.remaining, left);
        allocations.push({index, tokens});
        left -= tokens;
    }
    return allocations;
}
