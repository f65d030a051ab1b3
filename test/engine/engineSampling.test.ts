import {mkdtempSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {engineSampling} from "../../src/inference/EngineSampling.ts";
import type {StepSampling} from "../../src/core/Stepper.ts";
import type {RwkvEngine} from "../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../src/inference/RwkvModel.ts";
import {Sampler} from "../../src/inference/Sampler.ts";
import {chatSamplingDefaults} from "../../src/inference/SamplingOptions.ts";
import type {SamplingOptions} from "../../src/inference/SamplingOptions.ts";
import {writeRandomModel} from "../../tools/modelfile/randomModel.ts";
import {randomLogits} from "../unit/sampler/randomLogits.ts";
import type {LogitShape} from "../unit/sampler/randomLogits.ts";
import {modelPath} from "./engineFixtures.ts";

// The engine's sampling against the TS Sampler, its oracle (docs/rwkv5.md §9): replies of many steps
// on many slots at once, so the engine's per-slot penalty counts are exercised as a reply
// accumulates them; rows of every shape and every parameter mix.
const slots = 16;
const stepsPerReply = 24;
const shapes: readonly LogitShape[] = ["flat", "peaked", "ties", "banned"];
const temperatures = [0, 1, 1, 0.7, 1.5, 0.2];
const topPs = [0, 0.05, 0.3, 0.3, 0.6, 0.85, 0.999, 1];
const topKs = [0, 0, 1, 5, 40];
const presences = [0, 0.5, 1.2];
const frequencies = [0, 0.5];
const decays = [0.996, 0.5, 1, 0];
// A difference is allowed only at a tie: a decision value this close to a boundary.
const tieTolerance = 1e-6;

/** A small LCG: every case can be rebuilt from its seed. */
function lcg(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return state / 2 ** 32;
    };
}

function pick<T>(values: readonly T[], random: () => number): T {
    return values[Math.floor(random() * values.length)] as T;
}

interface Reply {
    readonly options: SamplingOptions;
    readonly sampling: ReturnType<typeof engineSampling>;
    readonly oracle: Sampler;
    readonly tokens: number[];
    /** This step's draw, which the oracle's random source returns. */
    readonly uniform: {value: number};
}

function newReply(nVocab: number, random: () => number): Reply {
    const ids = (count: number): number[] => Array.from({length: count}, () => Math.floor(random() * nVocab));
    const options: SamplingOptions = {
        temperature: pick(temperatures, random),
        topP: pick(topPs, random),
        topK: pick(topKs, random),
        presencePenalty: pick(presences, random),
        frequencyPenalty: pick(frequencies, random),
        penaltyDecay: pick(decays, random),
        bannedTokens: pick([[], [0], ids(3)], random),
    };
    const uncounted = new Set(random() < 0.5 ? [] : ids(200));
    const uniform = {value: 0};
    const oracle = new Sampler(options, {uncountedTokens: uncounted, random: () => uniform.value});
    return {options, sampling: engineSampling(options, nVocab, uncounted), oracle, tokens: [], uniform};
}

/** How close the oracle's decision on `penalized` was to a boundary: the draw's and the top-p cut's. */
function tieDistance(penalized: Float32Array, reply: Reply, engineToken: number, oracleToken: number): number {
    if (reply.options.temperature === 0) return Math.abs((penalized[engineToken] as number) - (penalized[oracleToken] as number));
    const {probs} = reply.oracle.distribution(penalized);
    let nearest = Infinity;
    let cumulative = 0;
    for (const p of probs) {
        cumulative += p;
        nearest = Math.min(nearest, Math.abs(reply.uniform.value - cumulative));
    }
    // The cut: float32 running sum of the temperature-1 probabilities, by probability.
    let max = -Infinity;
    for (const logit of penalized) max = Math.max(max, logit);
    let sum = 0;
    for (const logit of penalized) sum += Math.exp(logit - max);
    const sorted = Float32Array.from(penalized, (logit) => Math.fround(Math.exp(logit - max)) / sum).sort().reverse();
    const topP = Math.fround(reply.options.topP);
    let running = 0;
    for (const p of sorted) {
        running = Math.fround(running + p);
        nearest = Math.min(nearest, Math.abs(running - topP));
        if (running >= topP) break;
    }
    return nearest;
}

interface Tally {
    cases: number;
    differences: {distance: number; what: string}[];
}

/** `rounds` × `slots` replies of `stepsPerReply` rows each, sampled by the engine and the oracle side by side. */
async function compare(engine: RwkvEngine, rounds: number, seed: number): Promise<Tally> {
    const {nVocab} = engine.info;
    const random = lcg(seed);
    const tally: Tally = {cases: 0, differences: []};
    for (let round = 0; round < rounds; round++) {
        const replies = Array.from({length: slots}, () => newReply(nVocab, random));
        for (let step = 0; step < stepsPerReply; step++) {
            const rows = replies.map((reply, slot) => {
                const shape = pick(shapes, random);
                const rowSeed = Math.floor(random() * 2 ** 31);
                reply.uniform.value = random();
                const sample: StepSampling = {params: reply.sampling, uniform: reply.uniform.value, newReply: step === 0};
                return {slot, logits: randomLogits(shape, nVocab, rowSeed), sample, what: `${shape} row seed ${rowSeed}`};
            });
            const tokens = await engine.sampleLogits(rows);
            rows.forEach((row, slot) => {
                const reply = replies[slot]!;
                const penalized = row.logits.slice();
                const expected = reply.oracle.sample(penalized);
                const token = tokens[slot]!;
                tally.cases++;
                reply.tokens.push(token);
                if (token === expected) return;
                const distance = tieDistance(penalized, reply, token, expected);
                tally.differences.push({distance, what: `${row.what}, step ${step}, u ${reply.uniform.value}, ${JSON.stringify(reply.options)}: engine ${token}, oracle ${expected}`});
                // The oracle follows the engine's history from here (teacher forcing).
                reply.oracle.reset();
                for (const t of reply.tokens) reply.oracle.accept(t);
            });
        }
    }
    return tally;
}

function report(name: string, tally: Tally): void {
    const worst = tally.differences.reduce<Tally["differences"][number] | null>((a, b) => (a === null || b.distance > a.distance ? b : a), null);
    const same = tally.cases - tally.differences.length;
    console.log(`${name}: the engine picked the oracle's token in ${same} of ${tally.cases} cases (${((100 * same) / tally.cases).toFixed(3)} %); ` +
        (worst === null ? "no difference" : `worst difference ${worst.distance.toExponential(2)} from a boundary: ${worst.what}`));
}

describe("engine sampling against the TS Sampler", () => {
    const dir = mkdtempSync(join(tmpdir(), "engine-sampling-"));
    const models: RwkvModel[] = [];
    let wide: RwkvEngine;
    let narrow: RwkvEngine;

    beforeAll(async () => {
        const file = join(dir, "v65536.pth");
        await writeRandomModel(file, {nLayer: 1, nEmbd: 64, headSize: 64, dimFfn: 128, nVocab: 65536});
        models.push(await RwkvModel.load(file), await RwkvModel.load(modelPath("tiny-L3-C128-V1024.fp32.pth"), {precision: "fp32"}));
        wide = await models[0]!.createEngine({slots});
        narrow = await models[1]!.createEngine({slots});
    });
    afterAll(async () => {
        for (const model of models) await model.dispose();
        rmSync(dir, {recursive: true, force: true});
    });

    it("picks the same token in ≥ 99.9 % of ≥ 10,000 cases, every difference a tie within 1e-6 of a boundary", async () => {
        const tallies = [["65536 ids", await compare(wide, 12, 1)], ["1024 ids", await compare(narrow, 16, 2)]] as const;
        for (const [name, tally] of tallies) report(name, tally);
        const cases = tallies.reduce((n, [, t]) => n + t.cases, 0);
        const differences = tallies.flatMap(([, t]) => t.differences);
        expect(cases).toBeGreaterThanOrEqual(10_000);
        expect(differences.length).toBeLessThanOrEqual(cases * 0.001);
        expect(differences.filter((d) => d.distance > tieTolerance)).toEqual([]);
    }, 600_000);

    it("samples in a step from the logits the step returns, with the slot's counts across steps", async () => {
        const engine = await models[1]!.createEngine({slots: 2});
        try {
            const options = {...chatSamplingDefaults, temperature: 0.8, topP: 0.9, presencePenalty: 0.4, frequencyPenalty: 0.4};
            const random = lcg(3);
            let uniform = 0;
            const oracle = new Sampler(options, {random: () => uniform});
            const params = engineSampling(options, engine.info.nVocab);
            let token = 1;
            for (let step = 0; step < 40; step++) {
                uniform = random();
                const [output, other] = await engine.step([
                    {slot: 0, tokens: [token], logits: "last", sample: {params, uniform, newReply: step === 0}},
                    {slot: 1, tokens: [token], logits: "none"},
                ]);
                expect(other!.token).toBeNull();
                expect(other!.logits).toBeNull();
                const expected = oracle.sample(output!.logits!.slice());
                expect(output!.token).toBe(expected);
                token = expected;
            }
        } finally {
            await engine.dispose();
        }
    });

    it("clears a slot's counts at a new reply and at a state import; they are not in the exported state", async () => {
        const engine = await models[1]!.createEngine({slots: 1});
        try {
            const logits = randomLogits("peaked", engine.info.nVocab, 7);
            const params = engineSampling({...chatSamplingDefaults, temperature: 0, presencePenalty: 100, bannedTokens: []}, engine.info.nVocab);
            const sampleOnce = async (newReply: boolean): Promise<number> => (await engine.sampleLogits([{slot: 0, logits, sample: {params, uniform: 0, newReply}}]))[0]!;
            const first = await sampleOnce(true);
            expect(await sampleOnce(false)).not.toBe(first);
            expect(await sampleOnce(true)).toBe(first);
            const state = await engine.exportState(0);
            expect(await sampleOnce(false)).not.toBe(first);
            expect(await engine.exportState(0)).toEqual(state);
            await engine.importState(0, state);
            expect(await sampleOnce(false)).toBe(first);
            await engine.importState(0, null);
            expect(await sampleOnce(false)).toBe(first);
        } finally {
            await engine.dispose();
        }
    });

    it("refuses bad parameters with a clear error and changes nothing", async () => {
        const engine = await models[1]!.createEngine({slots: 1});
        try {
            const {nVocab} = engine.info;
            const params = engineSampling(chatSamplingDefaults, nVocab);
            const before = await engine.exportState(0);
            const bad: [string, StepSampling][] = [
                ["uniform 1", {params, uniform: 1}],
                ["negative uniform", {params, uniform: -0.5}],
                ["banned id past the vocabulary", {params: {...params, banned: Int32Array.of(nVocab)}, uniform: 0.5}],
                ["top-p above 1", {params: {...params, topP: 1.5}, uniform: 0.5}],
                ["negative temperature", {params: {...params, temperature: -1}, uniform: 0.5}],
            ];
            for (const [what, sample] of bad) {
                const error = await engine.step([{slot: 0, tokens: [1], logits: "none", sample}]).then(() => null, (e: unknown) => e);
                expect(error, what).toMatchObject({code: "engine/invalid_argument"});
                expect((error as Error).message.length, what).toBeGreaterThan(0);
            }
            expect(await engine.exportState(0)).toEqual(before);
        } finally {
            await engine.dispose();
        }
    });
});
