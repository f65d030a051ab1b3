import {describe, expect, it} from "vitest";
import type {StepItem, StepOutput, Stepper} from "../../../src/core/Stepper.ts";
import {prefill} from "../../../src/session/prefill.ts";

/** Records every step; answers a one-row logits vector holding the step's last token. */
function recordingStepper(): Stepper & {steps: {slot: number, tokens: number[], logits: string}[]} {
    const steps: {slot: number, tokens: number[], logits: string}[] = [];
    return {
        steps,
        async step(items: readonly StepItem[]): Promise<StepOutput[]> {
            return items.map((item) => {
                const tokens = Array.from(item.tokens);
                steps.push({slot: item.slot, tokens, logits: item.logits ?? "last"});
                return item.logits === "none" ? {rows: 0, logits: null} : {rows: 1, logits: Float32Array.of(tokens.at(-1)!)};
            });
        },
    };
}

describe("prefill", () => {
    it("feeds every token once, in order, in chunks of at most chunkTokens, logits after the last only", async () => {
        const stepper = recordingStepper();
        const tokens = Uint32Array.from({length: 10}, (_, i) => i + 1);
        const logits = await prefill(stepper, 3, tokens, 4, "last");
        expect(stepper.steps).toEqual([
            {slot: 3, tokens: [1, 2, 3, 4], logits: "none"},
            {slot: 3, tokens: [5, 6, 7, 8], logits: "none"},
            {slot: 3, tokens: [9, 10], logits: "last"},
        ]);
        expect(Array.from(logits!)).toEqual([10]);
    });

    it("asks for no logits at all when none are wanted, and steps nothing for no tokens", async () => {
        const stepper = recordingStepper();
        expect(await prefill(stepper, 0, [7, 8, 9], 2, "none")).toBeNull();
        expect(stepper.steps.map((step) => step.logits)).toEqual(["none", "none"]);
        expect(await prefill(stepper, 0, [], 2, "last")).toBeNull();
        expect(stepper.steps).toHaveLength(2);
    });
});
