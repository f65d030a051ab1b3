import {describe, expect, it} from "vitest";
import {BotError, StoreError, UserFacingError} from "../../../src/errors/BotError.ts";
import {turnOutcome} from "../../../src/scheduler/turnOutcome.ts";
import {TurnTiming} from "../../../src/scheduler/TurnTiming.ts";

describe("turnOutcome", () => {
    it("tells answered, busy, cancelled, refused and failed turns apart by the error they ended with", () => {
        expect(turnOutcome(null)).toBe("answered");
        for (const code of ["scheduler/overloaded", "scheduler/rate_limited", "scheduler/conversation_busy", "scheduler/shutting_down"]) {
            expect(turnOutcome(new UserFacingError(code, "busy")), code).toBe("busy");
        }
        expect(turnOutcome(new UserFacingError("turn/aborted", "(stopped by an admin)"))).toBe("cancelled");
        expect(turnOutcome(new UserFacingError("turn/too_long", "too long"))).toBe("refused");
        expect(turnOutcome(new UserFacingError("store/outbox_full", "full"))).toBe("refused");
        // The database failing is a failure, though the user reads a plain sentence.
        expect(turnOutcome(new UserFacingError("store/unavailable", "The database is unavailable"))).toBe("failed");
        expect(turnOutcome(new StoreError("store/internal", "x"))).toBe("failed");
        expect(turnOutcome(new BotError("engine/step_failed", "x"))).toBe("failed");
    });
});

describe("TurnTiming", () => {
    it("times the first text streamed and the reply delivered, passing every call through", async () => {
        let now = 100;
        const calls: string[] = [];
        const timing = new TurnTiming({
            typing: async () => void calls.push("typing"),
            update: async (text) => void calls.push(`update ${text}`),
            complete: async (text) => void calls.push(`complete ${text}`),
            fail: async () => void calls.push("fail"),
        }, () => now);
        now = 150;
        await timing.sink.typing();
        await timing.sink.update("");
        expect(timing.firstTextMs).toBeNull();
        now = 400;
        await timing.sink.update("Hel");
        now = 900;
        await timing.sink.update("Hello");
        expect(timing.replyMs).toBeNull();
        now = 1100;
        await timing.sink.complete("Hello.");
        expect([timing.firstTextMs, timing.replyMs]).toEqual([300, 1000]);
        expect(calls).toEqual(["typing", "update ", "update Hel", "update Hello", "complete Hello."]);
    });
});
