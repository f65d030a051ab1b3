/** The shapes of logits the sampler tests draw from. */
export type LogitShape = "flat" | "peaked" | "ties" | "banned";

/**
 * Deterministic logits of `shape` from `seed` (an LCG, so a failing case can be rebuilt):
 * `flat` like a random-weight model (hardly any spread), `peaked` like a trained one (a few
 * strong ids over a wide tail), `ties` from a handful of values (many ids share each probability),
 * `banned` peaked with a fifth of the ids (never id 0) at -∞.
 */
export function randomLogits(shape: LogitShape, size: number, seed: number): Float32Array {
    let state = seed >>> 0;
    const uniform = (): number => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return (state + 0.5) / 2 ** 32;
    };
    const gaussian = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const logits = new Float32Array(size);
    for (let i = 0; i < size; i += 1) {
        if (shape === "flat") logits[i] = 0.05 * gaussian();
        else if (shape === "ties") logits[i] = Math.floor(uniform() * 4) / 2;
        else logits[i] = 2 * gaussian();
    }
    if (shape === "peaked" || shape === "banned") {
        for (let i = 0; i < Math.min(8, size); i += 1) logits[Math.floor(uniform() * size)] = 12 + uniform() * 4;
    }
    if (shape === "banned") {
        // Id 0 stays: a row with every id banned has no distribution.
        for (let i = 1; i < size; i += 1) if (uniform() < 0.2) logits[i] = -Infinity;
    }
    return logits;
}
