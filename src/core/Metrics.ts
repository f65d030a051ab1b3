/** How a chat turn ended, as counted by `rwkv_turns_total`. */
export type TurnOutcome = "answered" | "busy" | "refused" | "failed" | "cancelled";

/**
 * What the runtime reports to the operator's metrics. The layers record through this interface
 * only; the Prometheus definitions live in `src/ops/BotMetrics.ts`, so nothing below the
 * composition imports prom-client. {@link noMetrics} is the recorder of a process without them.
 */
export interface Metrics {
    /** A chat turn ended on `platform` with `outcome`. */
    turn(platform: string, outcome: TurnOutcome): void;
    /** Tokens fed to the engine: prompt and replay (`prefilled`) or sampled (`generated`). */
    tokens(kind: "prefilled" | "generated", count: number): void;
    /** One batched engine step of `batchItems` items took `seconds`. */
    engineStep(seconds: number, batchItems: number): void;
    /** From a turn's arrival to the first text of its reply. */
    firstReplyToken(seconds: number): void;
    /** From a turn's arrival to its reply delivered. */
    reply(seconds: number): void;
    /** A checkpoint written, or a conversation restored into a slot. */
    checkpoint(operation: "write" | "restore", seconds: number): void;
    /** The database failed an operation (unreachable, or refused it). */
    databaseError(): void;
    /** A chat turn refused by the admission limits: `queue_full`, `cooldown` or `conversation_busy`. */
    rateLimited(reason: string): void;
    /** A call to the platform's API answered (`ok`) or failed (`error`). */
    platformCall(platform: string, outcome: "ok" | "error"): void;
    /** A platform call sent again (after a 429 or a server error). */
    platformRetry(platform: string): void;
    /** A platform call answered 429 (rate limited). */
    platformRateLimited(platform: string): void;
}

const ignore = (): void => {};

/** Records nothing: the recorder when metrics are off, and of parts built without them. */
export const noMetrics: Metrics = {
    turn: ignore, tokens: ignore, engineStep: ignore, firstReplyToken: ignore, reply: ignore, checkpoint: ignore,
    databaseError: ignore, rateLimited: ignore, platformCall: ignore, platformRetry: ignore, platformRateLimited: ignore,
};
