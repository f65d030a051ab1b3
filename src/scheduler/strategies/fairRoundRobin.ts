import type {BatchAllocation, BatchCandidate} from "../BatchStrategy.ts";

/**
 * The default strategy: every candidate gets one token first (so each decoding conversation
 * advances every step), then the budget left is shared evenly among the prefills, longest
 * waiting first. A huge paste thus costs the others at most one chunk of time per step.
 */
export function fairRoundRobin(candidates: readonly BatchCandidate[], budget: number): BatchAllocation[] {
    const given = new Array<number>(candidates.length).fill(0);
    let left = budget;
    for (let i = 0; i < candidates.length && left > 0; i++) {
        given[i] = 1;
        left--;
    }
    let needy = candidates.map((_, i) => i).filter((i) => given[i]! > 0 && given[i]! < candidates[i]!.remaining);
    while (left > 0 && needy.length > 0) {
        const share = Math.max(1, Math.floor(left / needy.length));
        for (const i of needy) {
            const add = Math.min(share, candidates[i]!.remaining - given[i]!, left);
            given[i] = given[i]! + add;
            left -= add;
            if (left === 0) break;
        }
        needy = needy.filter((i) => given[i]! < candidates[i]!.remaining);
    }
    return given.flatMap((tokens, index) => (tokens > 0 ? [{index, tokens}] : []));
}
