import {describe, expect, it} from "vitest";
import {fairRoundRobin} from "../../../src/scheduler/strategies/fairRoundRobin.ts";
import {firstInFirstOut} from "../../../src/scheduler/strategies/firstInFirstOut.ts";

const candidates = (...remaining: number[]) => remaining.map((r, slot) => ({slot, remaining: r}));

describe("fairRoundRobin", () => {
    it("gives every decode its token and shares the rest among prefills", () => {
        expect(fairRoundRobin(candidates(1, 200, 1, 200), 64)).toEqual([
            {index: 0, tokens: 1}, {index: 1, tokens: 31}, {index: 2, tokens: 1}, {index: 3, tokens: 31},
        ]);
    });

    it("never exceeds the budget, and serves the longest-waiting first when it is short", () => {
        const allocations = fairRoundRobin(candidates(1, 1, 1, 1), 3);
        expect(allocations).toEqual([{index: 0, tokens: 1}, {index: 1, tokens: 1}, {index: 2, tokens: 1}]);
    });

    it("gives a lone prefill the whole budget", () => {
        expect(fairRoundRobin(candidates(1000), 128)).toEqual([{index: 0, tokens: 128}]);
    });

    it("hands leftovers of short prefills to longer ones", () => {
        const allocations = fairRoundRobin(candidates(5, 100), 50);
        expect(allocations).toEqual([{index: 0, tokens: 5}, {index: 1, tokens: 45}]);
    });
});

describe("firstInFirstOut", () => {
    it("lets the oldest take all it has, cutting the last one admitted", () => {
        expect(firstInFirstOut(candidates(40, 1, 100, 1), 64)).toEqual([{index: 0, tokens: 40}, {index: 1, tokens: 1}, {index: 2, tokens: 23}]);
    });
});
