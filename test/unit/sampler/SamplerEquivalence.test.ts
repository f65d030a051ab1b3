import {describe, expect, it} from "vitest";
import {Sampler} from "../../../src/inference/Sampler.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import {randomLogits} from "./randomLogits.ts";
import type {LogitShape} from "./randomLogits.ts";
import {referenceDistribution} from "./referenceDistribution.ts";

const shapes: readonly LogitShape[] = ["flat", "peaked", "ties", "banned"];
const topPs = [0, 0.05, 0.3, 0.5, 0.85, 0.95, 0.999, 1];
const temperatureAndTopK = [[1, 0], [0.7, 0], [1.5, 5], [1, 40]] as const;

/** One sampler per option set, reused across rows of every size, as a conversation reuses its sampler. */
function samplers(): {cut: {temperature: number; topP: number; topK: number}; sampler: Sampler}[] {
    return topPs.flatMap((topP) =>
        temperatureAndTopK.map(([temperature, topK]) => {
            const cut = {temperature, topP, topK};
            return {cut, sampler: new Sampler({...chatSamplingDefaults, ...cut, seed: 1})};
        }),
    );
}

/** The option sets, as text, on which `Sampler.distribution` differs from the reference for `logits`. */
function mismatches(all: ReturnType<typeof samplers>, logits: Float32Array): string[] {
    return all.flatMap(({cut, sampler}) => {
        const actual = sampler.distribution(logits);
        const expected = referenceDistribution(logits, cut);
        const same = actual.ids.length === expected.ids.length
            && expected.ids.every((id, i) => actual.ids[i] === id && actual.probs[i] === expected.probs[i]);
        return same ? [] : [JSON.stringify(cut)];
    });
}

describe("Sampler.distribution against the plain full-sort reference", () => {
    it.each(shapes)("matches ids and probabilities exactly on %s rows of 1 to 3000 ids", (shape) => {
        const all = samplers();
        const failures: string[] = [];
        for (const size of [1, 2, 3, 7, 64, 500, 3000]) {
            for (let seed = 1; seed <= 12; seed += 1) {
                for (const cut of mismatches(all, randomLogits(shape, size, seed * 7919 + size))) failures.push(`size ${size} seed ${seed} ${cut}`);
            }
        }
        expect(failures).toEqual([]);
    });

    it.each(shapes)("matches exactly on %s rows of 65536 ids", (shape) => {
        const all = samplers().filter(({cut}) => [0.3, 0.85, 1].includes(cut.topP));
        expect(mismatches(all, randomLogits(shape, 65536, 65536))).toEqual([]);
    });
});

describe("Sampler.sample", () => {
    // Recorded from the full-sort sampler this one replaced: the same seed must keep drawing the same tokens.
    const recorded: readonly [LogitShape, number, number, number, number, number[]][] = [
        ["flat", 0.3, 1, 0, 1, [7000, 24051, 7675, 23062, 16559, 53886, 27438, 61496, 23857, 6649, 45352, 37955]],
        ["flat", 0.85, 1, 0, 2, [55470, 22897, 48516, 46989, 54518, 44767, 28241, 61870, 24230, 60144, 44587, 55213]],
        ["peaked", 0.85, 1, 0, 3, [14133, 44086, 14133, 44086, 44086, 9144, 21097, 22341, 4658, 44086, 40063, 14133]],
        ["peaked", 0.6, 0.7, 0, 4, [23436, 13899, 23436, 23436, 57140, 23436, 57140, 23436, 13899, 12338, 60323, 60323]],
        ["ties", 0.5, 1.5, 0, 5, [40442, 6720, 53145, 32863, 41629, 46298, 24160, 4132, 60451, 14109, 44495, 49921]],
        ["banned", 1, 1, 0, 6, [40581, 22059, 22059, 29906, 22052, 29906, 5433, 5433, 5433, 22059, 5433, 22052]],
        ["flat", 0.95, 1.2, 40, 7, [31680, 47710, 33654, 34138, 41294, 17700, 28502, 45701, 54027, 63780, 22671, 35050]],
        ["peaked", 1, 1, 0, 8, [20839, 43324, 52275, 20839, 45665, 45665, 20839, 20839, 1289, 1289, 1289, 45665]],
    ];

    it.each(recorded)("draws the recorded tokens on %s rows, top-p %s, temperature %s, top-k %s, seed %s, with chat penalties", (shape, topP, temperature, topK, seed, tokens) => {
        const logits = randomLogits(shape, 65536, seed);
        const sampler = new Sampler({...chatSamplingDefaults, topP, temperature, topK, seed});
        expect(tokens.map(() => sampler.sample(logits.slice()))).toEqual(tokens);
    });
});
