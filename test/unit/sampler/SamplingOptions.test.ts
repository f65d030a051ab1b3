import {describe, expect, it} from "vitest";
import {chatSamplingDefaults, mergeSamplingOptions} from "../../../src/inference/SamplingOptions.ts";

describe("chatSamplingDefaults", () => {
    it("are ChatRWKV API_DEMO_CHAT's settings", () => {
        expect(chatSamplingDefaults).toEqual({
            temperature: 1.0, topP: 0.3, topK: 0, presencePenalty: 0.5, frequencyPenalty: 0.5, penaltyDecay: 0.996, bannedTokens: [0],
        });
    });
});

describe("mergeSamplingOptions", () => {
    it("layers overrides in order, ignoring undefined fields", () => {
        const merged = mergeSamplingOptions(chatSamplingDefaults, {temperature: 0.7, topP: 0.6}, {topP: undefined, seed: 5});
        expect(merged).toEqual({ok: true, options: {...chatSamplingDefaults, temperature: 0.7, topP: 0.6, seed: 5}});
    });

    it("returns every problem instead of throwing", () => {
        expect(mergeSamplingOptions(chatSamplingDefaults, {topK: 1.5, penaltyDecay: 2, bannedTokens: [-1]})).toEqual({
            ok: false,
            problems: ["topK must be an integer ≥ 0", "penaltyDecay must be in [0, 1]", "bannedTokens must be token ids"],
        });
    });
});
