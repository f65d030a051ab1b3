import type {TurnOutcome} from "../core/Metrics.ts";
import {UserFacingError} from "../errors/BotError.ts";
import type {BotError} from "../errors/BotError.ts";

/** The admission limits' refusals, by code, with the reason `rwkv_rate_limited_total` counts them under. */
export const limitReasons: Readonly<Partial<Record<string, string>>> = {
    "scheduler/overloaded": "queue_full",
    "scheduler/rate_limited": "cooldown",
    "scheduler/conversation_busy": "conversation_busy",
};

// The database failing a turn is a failure, though the user is told so in plain words.
const failedCodes = new Set(["store/unavailable", "store/outbox_waiting", "turn/not_saved"]);

/** How a chat turn ended, from the error it failed with (null: answered). */
export function turnOutcome(failure: BotError | null): TurnOutcome {
    if (failure === null) return "answered";
    if (limitReasons[failure.code] !== undefined || failure.code === "scheduler/shutting_down") return "busy";
    if (failure.code === "turn/aborted") return "cancelled";
    if (failure instanceof UserFacingError && !failedCodes.has(failure.code)) return "refused";
    return "failed";
}
