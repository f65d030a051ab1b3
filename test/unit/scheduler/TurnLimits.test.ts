import {afterEach, beforeEach, describe, expect, it, vi} from "vitest";
import {TurnLimits} from "../../../src/scheduler/TurnLimits.ts";

describe("TurnLimits", () => {
    // Bottleneck yields through real zero-delay timeouts; its rate limits read the clock.
    beforeEach(() => void vi.useFakeTimers({toFake: ["Date"]}));
    afterEach(() => void vi.useRealTimers());

    it("lets a user send one chat turn per cooldown", async () => {
        const limits = new TurnLimits({maxConcurrent: 1, queueMax: 10, userCooldownMs: 3000, conversationMaxPending: 5});
        await limits.check("u1", 0);
        await expect(limits.check("u1", 0)).rejects.toMatchObject({code: "scheduler/rate_limited", message: expect.stringContaining("try again in 3 s")});
        await limits.check("u2", 0);
        vi.setSystemTime(Date.now() + 2900);
        await expect(limits.check("u1", 0)).rejects.toMatchObject({code: "scheduler/rate_limited"});
        vi.setSystemTime(Date.now() + 100);
        await limits.check("u1", 0);
        await limits.stop();
    });

    it("never cools down the operator (user null)", async () => {
        const limits = new TurnLimits({maxConcurrent: 1, queueMax: 10, userCooldownMs: 3000, conversationMaxPending: 5});
        for (let i = 0; i < 5; i++) await limits.check(null, 0);
        await limits.stop();
    });

    it("refuses a turn past the conversation's pending limit", async () => {
        const limits = new TurnLimits({maxConcurrent: 1, queueMax: 10, userCooldownMs: 0, conversationMaxPending: 2});
        await limits.check("u", 1);
        await expect(limits.check("u", 2)).rejects.toMatchObject({code: "scheduler/conversation_busy"});
        await limits.stop();
    });

    it("answers busy, with a wait, when the admission queue is full", async () => {
        const limits = new TurnLimits({maxConcurrent: 1, queueMax: 1, userCooldownMs: 0, conversationMaxPending: 5});
        let open!: () => void;
        const gate = new Promise<void>((resolve) => (open = resolve));
        const turn = async () => {
            await gate;
            return "done";
        };
        const first = limits.admit(turn);
        const second = limits.admit(turn);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await expect(limits.admit(turn)).rejects.toMatchObject({code: "scheduler/overloaded", message: expect.stringMatching(/busy.*try again in \d+ s/)});
        expect(limits.queued()).toBe(1);
        open();
        await expect(Promise.all([first, second])).resolves.toEqual(["done", "done"]);
        await limits.stop();
    });
});
