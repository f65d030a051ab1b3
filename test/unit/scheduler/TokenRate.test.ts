import {describe, expect, it} from "vitest";
import {TokenRate} from "../../../src/scheduler/TokenRate.ts";

describe("TokenRate", () => {
    it("averages the tokens of the last window over its seconds, forgetting older ones as the clock moves", () => {
        let now = 1_000_000;
        const rate = new TokenRate({windowSeconds: 4, now: () => now});
        rate.add(8);
        now += 1000;
        rate.add(4);
        expect(rate.perSecond()).toBe(3);
        // Three seconds on, the first second's 8 have left the window; the 4 have not.
        now += 3000;
        expect(rate.perSecond()).toBe(1);
        now += 1000;
        expect(rate.perSecond()).toBe(0);
        // A long quiet clears everything, and counting starts again.
        now += 60_000;
        rate.add(2);
        expect(rate.perSecond()).toBe(0.5);
    });
});
