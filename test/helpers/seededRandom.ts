import {randomInt} from "node:crypto";

/** A random source a failing run can be replayed from. */
export interface SeededRandom {
    readonly seed: number;
    /** Uniform in [0, 1). */
    next(): number;
    /** Uniform integer in [0, n). */
    below(n: number): number;
}

/**
 * Seeds from `TEST_SEED` when set, else draws a seed, and prints it with `label`: every random
 * choice of a test comes from here, so `TEST_SEED=<printed> npx vitest run <file>` replays it.
 */
export function seededRandom(label: string): SeededRandom {
    const seed = process.env.TEST_SEED === undefined ? randomInt(2 ** 31) : Number(process.env.TEST_SEED);
    console.log(`${label}: seed ${seed} (replay with TEST_SEED=${seed})`);
    // mulberry32: small, fast, and the same sequence on every platform.
    let state = seed >>> 0;
    const next = () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return {seed, next, below: (n) => Math.floor(next() * n)};
}
