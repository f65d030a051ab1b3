import Bottleneck from "bottleneck";
import {UserFacingError} from "../errors/BotError.ts";

/** Options of {@link TurnLimits}. */
export interface TurnLimitsOptions {
    /** Chat turns generating at once (the engine's slot count). */
    readonly maxConcurrent: number;
    /** Admitted chat turns waiting for one of those places; beyond it a turn gets a busy reply. */
    readonly queueMax: number;
    /** Least time between two chat turns of one user (ms); 0 = no cooldown. */
    readonly userCooldownMs: number;
    /** Turns of one conversation queued or running. */
    readonly conversationMaxPending: number;
    /**
     * A Redis server (`REDIS_URL`): the per-user cooldown is then shared by every process using
     * it (bottleneck clustering). Admission stays per process: it guards this process's engine.
     */
    readonly redisUrl?: string;
}

// Bottleneck rejects a job it dropped (OVERFLOW strategy) with this message.
const droppedMessage = "This job has been dropped by Bottleneck";

/**
 * The rate limits of chat turns, on bottleneck: a global admission queue (bounded; a turn past
 * it gets "busy, try again in N s", never silence), a per-user cooldown (a group keyed by user,
 * one job per `userCooldownMs`, a second one dropped), and the per-conversation pending limit.
 */
export class TurnLimits {
    readonly #options: TurnLimitsOptions;
    readonly #admission: Bottleneck;
    readonly #cooldown: Bottleneck.Group | null;
    readonly #connection: Bottleneck.IORedisConnection | null;
    // Seconds a turn takes, smoothed: the basis of "try again in N s".
    #turnSeconds = 5;

    constructor(options: TurnLimitsOptions) {
        this.#options = options;
        this.#admission = new Bottleneck({maxConcurrent: options.maxConcurrent, highWater: options.queueMax, strategy: Bottleneck.strategy.OVERFLOW});
        this.#connection = options.redisUrl === undefined ? null : new Bottleneck.IORedisConnection({clientOptions: options.redisUrl});
        this.#cooldown = options.userCooldownMs <= 0 ? null : new Bottleneck.Group({
            minTime: options.userCooldownMs,
            highWater: 0,
            strategy: Bottleneck.strategy.OVERFLOW,
            ...(this.#connection === null ? {} : {datastore: "ioredis", connection: this.#connection, id: "rwkv-bot-user-cooldown", clearDatastore: false, timeout: options.userCooldownMs * 10}),
        });
    }

    /** Chat turns admitted and waiting for a place to generate. */
    queued(): number {
        return this.#admission.counts().QUEUED ?? 0;
    }

    /**
     * Checks the per-user cooldown and the conversation's pending limit (`pendingTurns` is the
     * count before this turn); `userId` null is the operator, who has no cooldown. Rejects with a
     * UserFacingError `scheduler/rate_limited` or `scheduler/conversation_busy` when the turn
     * must not be queued.
     */
    async check(userId: string | null, pendingTurns: number): Promise<void> {
        if (pendingTurns >= this.#options.conversationMaxPending) {
            throw new UserFacingError("scheduler/conversation_busy", `I'm still on ${pendingTurns} earlier message(s) here; try again in ${this.#retrySeconds(pendingTurns)} s.`);
        }
        if (this.#cooldown === null || userId === null) return;
        try {
            await this.#cooldown.key(userId).schedule(() => Promise.resolve());
        } catch (error) {
            if ((error as Error).message !== droppedMessage) throw error;
            throw new UserFacingError("scheduler/rate_limited", `You're sending messages too fast; try again in ${Math.ceil(this.#options.userCooldownMs / 1000)} s.`);
        }
    }

    /**
     * Runs `turn` when a place is free, after the turns admitted before it. Rejects with a
     * UserFacingError `scheduler/overloaded` ("busy, try again in N s") when the queue is full.
     */
    async admit<T>(turn: () => Promise<T>): Promise<T> {
        try {
            return await this.#admission.schedule(async () => {
                const started = performance.now();
                try {
                    return await turn();
                } finally {
                    this.#turnSeconds = 0.8 * this.#turnSeconds + 0.2 * ((performance.now() - started) / 1000);
                }
            });
        } catch (error) {
            if ((error as Error).message !== droppedMessage) throw error;
            throw new UserFacingError("scheduler/overloaded", `I'm busy right now; try again in ${this.#retrySeconds(this.queued())} s.`);
        }
    }

    /** Stops the limiters and closes the Redis connection. */
    async stop(): Promise<void> {
        await this.#admission.disconnect();
        await this.#cooldown?.disconnect();
        await this.#connection?.disconnect();
    }

    #retrySeconds(waiting: number): number {
        return Math.max(1, Math.ceil(this.#turnSeconds * (waiting / this.#options.maxConcurrent + 1)));
    }
}
