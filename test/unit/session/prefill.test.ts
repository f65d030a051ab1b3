import {describe, expect, it} from "vitest";
import type {StepItem, StepOutput, Stepper} from "../../../src/core/Stepper.ts";
import {engineSampling} from "../../../src/inference/EngineSampling.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import {prefill} from "../../../src/session/prefill.ts";

/** Records every step; a step that samples answers 100 + its last token. */
function recordingStepper(): Stepper & {steps: {slot: number, tokens: number[], logits: string, sampled: boolean}[]} {
    const steps: {slot: number, tokens: number[], logits: string, sampled: boolean}[] = [];
    return {
        steps,
        async step(items: readonly StepItem[]): Promise<StepOutput[]> {
            return items.map((item) => {
                const tokens = Array.from(item.tokens);
                steps.push({slot: item.slot, tokens, logits: item.logits ?? "last", sampled: item.sample !== undefined});
                return {rows: 0, logits: null, token: item.sample === undefined ? null : 100 + tokens.at(-1)!};
            });
        },
    };
}

const sample = {params: engineSampling(chatSamplingDefaults, 1000), uniform: 0.25};

describe("prefill", () => {
    it("feeds every token once, in order, in chunks of at most chunkTokens, sampling after the last only", async () => {
        const stepper = recordingStepper();
        const tokens = Uint32Array.from({length: 10}, (_, i) => i + 1);
        const token = await prefill(stepper, 3, tokens, 4, sample);
        expect(stepper.steps).toEqual([
            {slot: 3, tokens: [1, 2, 3, 4], logits: "none", sampled: false},
            {slot: 3, tokens: [5, 6, 7, 8], logits: "none", sampled: false},
            {slot: 3, tokens: [9, 10], logits: "none", sampled: true},
        ]);
        expect(token).toBe(110);
    });

    it("asks for no logits and no sample when none is wanted, and steps nothing for no tokens", async () => {
        const stepper = recordingStepper();
        expect(await prefill(stepper, 0, [7, 8, 9], 2)).toBeNull();
        expect(stepper.steps.map((step) => [step.logits, step.sampled])).toEqual([["none", false], ["none", false]]);
        expect(await prefill(stepper, 0, [], 2, sample)).toBeNull();
        expect(stepper.steps).toHaveLength(2);
    });
});
