import {getRandomValues} from "node:crypto";

/**
 * The uniform draws of sampling: xoshiro128** seeded through splitmix32 (small, fast, and identical
 * on every platform), doubles in [0, 1) with 53 random bits. The same seed gives the same stream,
 * so a seeded reply replays its tokens. Absent seed: a fresh random one.
 */
export function seededUniform(seed: number = getRandomValues(new Uint32Array(1))[0] as number): () => number {
    let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x85ebca6b);
    const next32 = (): number => {
        mix = (mix + 0x9e3779b9) | 0;
        let z = mix;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
        return (z ^ (z >>> 16)) >>> 0;
    };
    let a = next32();
    let b = next32();
    let c = next32();
    let d = next32();
    const step = (): number => {
        const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
        const t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = rotl(d, 11);
        return result;
    };
    return () => ((step() >>> 5) * 67108864 + (step() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
    return (x << k) | (x >>> (32 - k));
}
