/** The options {@link referenceDistribution} reads (temperature > 0). */
export interface ReferenceCut {
    readonly temperature: number;
    readonly topP: number;
    readonly topK: number;
}

/**
 * Upstream `sample_logits` (docs/rwkv5.md §9) written the plain way, as the oracle of the sampler
 * tests: float32 softmax (the unrounded exponentials summed in id order), a full sort by
 * probability (ties by id), the first float32 running sum that reaches top-p picks the cutoff,
 * every id at least that probable is kept (all of them if the sum never gets there), then top-k,
 * temperature and normalisation.
 */
export function referenceDistribution(logits: Float32Array, {temperature, topP, topK}: ReferenceCut): {ids: number[]; probs: number[]} {
    const max = Math.max(...logits);
    let sum = 0;
    for (const logit of logits) sum += Math.exp(logit - max);
    const probs = Array.from(logits, (logit) => Math.fround(Math.fround(Math.exp(logit - max)) / sum));
    const order = probs.map((_, id) => id).sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
    let cutoff = probs[order[order.length - 1] as number] as number;
    let cumulative = 0;
    for (const id of order) {
        cumulative = Math.fround(cumulative + (probs[id] as number));
        if (cumulative >= Math.fround(topP)) {
            cutoff = probs[id] as number;
            break;
        }
    }
    let ids = order.filter((id) => (probs[id] as number) >= cutoff);
    if (topK > 0 && topK < ids.length) ids = ids.slice(0, topK);
    const weights = ids.map((id) => (temperature === 1 ? (probs[id] as number) : Math.fround((probs[id] as number) ** (1 / temperature))));
    const total = weights.reduce((a, b) => a + b, 0);
    return {ids, probs: weights.map((weight) => weight / total)};
}
