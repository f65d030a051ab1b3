import type {Logger} from "../core/Logger.ts";
import type {ReplySink} from "../core/ReplySink.ts";
import type {Turn} from "../core/Turn.ts";
import {asBotError, BotError, UserFacingError} from "../errors/BotError.ts";
import {CommitError, Conversation} from "../session/Conversation.ts";
import type {ConversationServices} from "../session/Conversation.ts";
import type {ConversationSettings} from "../store/StateStore.ts";
import type {BatchDispatcher} from "./BatchDispatcher.ts";
import {ConversationQueue} from "./ConversationQueue.ts";
import {SlotTable} from "./SlotTable.ts";
import type {TurnLimits} from "./TurnLimits.ts";
import {TurnTiming} from "./TurnTiming.ts";
import {limitReasons, turnOutcome} from "./turnOutcome.ts";

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
    readonly services: ConversationServices;
    /** The batcher behind `services.stepper`: each turn gets its own facade of it. */
    readonly dispatcher: BatchDispatcher;
    readonly limits: TurnLimits;
    readonly slotCount: number;
    /** Longest accepted message, in characters. */
    readonly maxMessageChars: number;
    /** Settings of a conversation seen for the first time (platform fields come from the turn). */
    readonly newConversation: Omit<ConversationSettings, "platform" | "platformIds">;
    /** Leases of held conversations are checked (and taken again if their claim was lost) every third of this (ms). */
    readonly leaseMs: number;
    /** Where the scheduler reports what users must not see. */
    readonly log: Logger;
    /**
     * Takes a chat turn whose conversation another live process holds (the lease was taken
     * between the routing decision and this turn's load) and forwards it to the holder; resolves
     * false when it cannot, and the turn is then refused with `store/busy_elsewhere`.
     */
    readonly elsewhere?: (turn: Turn, sink: ReplySink) => Promise<boolean>;
}

/** A job on one conversation, holding its slot: what admin commands run. */
export type ConversationJob<T> = (conversation: Conversation, slot: number, signal: AbortSignal) => Promise<T>;

/** Reasons jobs are cancelled with; the text is what the user sees. */
const cancelled = {
    reset: () => new UserFacingError("turn/aborted", "(cancelled: the conversation was reset)"),
    shutdown: () => new UserFacingError("turn/aborted", "(cancelled: the bot is shutting down)"),
    stop: () => new UserFacingError("turn/aborted", "(stopped by an admin)"),
};

/** What users are told when the store refuses a job, by code. */
const storeReplies: Partial<Record<string, string>> = {
    "store/unavailable": "The database is unavailable, try again.",
    // A lease lasts as long as its holder lives: "try again shortly" would not help.
    "store/busy_elsewhere": "Another instance of the bot is serving this conversation, so this one cannot answer here.",
};

/** The answer to a turn or command that arrives once shutdown has begun. */
const shuttingDown = () => new UserFacingError("scheduler/shutting_down", "The bot is shutting down; try again in a minute.");

/**
 * The runtime core: admits chat turns (limits), runs one job at a time per conversation in
 * arrival order, keeps conversations in engine slots (restore on a miss, save before
 * eviction), and cancels, checkpoints and shuts down. Generation of all conversations shares
 * the {@link BatchDispatcher}'s steps.
 */
export class Scheduler {
    readonly #options: SchedulerOptions;
    readonly #queue = new ConversationQueue();
    readonly #slots: SlotTable<string>;
    readonly #live = new Map<string, Conversation>();
    readonly #timer: NodeJS.Timeout;
    #stopping = false;

    constructor(options: SchedulerOptions) {
        this.#options = options;
        this.#slots = new SlotTable<string>(options.slotCount, {evict: (key, slot) => this.#evict(key, slot)});
        const {quietMs} = options.services.checkpointPolicy;
        this.#timer = setInterval(() => void this.#maintain(), Math.max(250, Math.min(options.leaseMs / 3, quietMs / 2 || 1000)));
        this.#timer.unref();
    }

    /** The shared batcher (for status and benchmarks). */
    get dispatcher(): BatchDispatcher {
        return this.#options.dispatcher;
    }

    /** What this process carries now: conversations held in slots (of `slots`), and its queue. */
    get load(): {residentConversations: number; slots: number; waitingTurns: number; busyConversations: number} {
        return {residentConversations: this.residentConversations, slots: this.#options.slotCount, ...this.queueDepth};
    }

    /** Chat turns admitted and waiting for a place, plus conversations with work queued. */
    get queueDepth(): {waitingTurns: number; busyConversations: number} {
        return {waitingTurns: this.#options.limits.queued(), busyConversations: this.#queue.busyKeys().length};
    }

    /** Conversations held in engine slots now. */
    get residentConversations(): number {
        return this.#live.size;
    }

    /**
     * Answers a chat turn: checks the limits, waits for the conversation's earlier jobs and a
     * place in the engine, and replies through `sink`. Never rejects: every failure ends in
     * `sink.fail` (a UserFacingError's text, or the sink's generic line).
     */
    async chat(turn: Turn, sink: ReplySink): Promise<void> {
        const timing = new TurnTiming(sink);
        let failure: BotError | null = null;
        try {
            if (this.#stopping) throw shuttingDown();
            if (turn.text.length > this.#options.maxMessageChars) {
                throw new UserFacingError("turn/too_long", `That message is too long (max ${this.#options.maxMessageChars} characters).`);
            }
            await this.#options.limits.check(turn.author.isOperator === true ? null : turn.author.id, this.#queue.pendingTurns(turn.conversation));
            const {outbox} = this.#options.services;
            // Full only after a long outage: a turn admitted now could find no room if its logging failed too.
            if (!outbox.has(turn.conversation) && !outbox.hasRoom()) {
                throw new UserFacingError("store/outbox_full", "The database is unavailable and too many replies are waiting to be saved; try again once it is back.");
            }
            // Shutdown may have begun (and drained the queues) while the limits were checked.
            if (this.#stopping) throw shuttingDown();
            await this.#queue.run(turn.conversation, "turn", (signal) => this.#options.limits.admit(async () => {
                // Made on admission: turns admitted together then share their first engine step.
                const stepper = this.dispatcher.stepper(signal);
                try {
                    await this.#withSlot(turn, signal, async (conversation, slot) => {
                        await conversation.reply(slot, turn.text, timing.sink, stepper, signal, loggedTurnId(turn));
                        const due = conversation.dueCheckpoint;
                        // The reply is delivered: a failed checkpoint is for the log only (the turn log restores the state).
                        if (due !== null) {
                            await conversation.checkpoint(slot, due).catch((error: unknown) => this.#options.log.warn(`checkpoint of ${turn.conversation} failed; its log still restores it`, error));
                        }
                    });
                } finally {
                    stepper.done();
                }
            }), turn.signal);
        } catch (error) {
            const {elsewhere} = this.#options;
            // Answered, and counted, by the process that holds the conversation.
            if (elsewhere !== undefined && error instanceof BotError && error.code === "store/busy_elsewhere" && await elsewhere(turn, sink)) return;
            failure = this.#toReply(error, turn);
            await sink.fail(failure);
        }
        this.#account(turn, timing, failure);
    }

    // One log line and the metrics of a finished chat turn.
    #account(turn: Turn, timing: TurnTiming, failure: BotError | null): void {
        const {metrics} = this.#options.services;
        const outcome = turnOutcome(failure);
        metrics.turn(turn.platform, outcome);
        const limit = failure === null ? undefined : limitReasons[failure.code];
        if (limit !== undefined) metrics.rateLimited(limit);
        if (outcome === "answered" && timing.replyMs !== null) {
            metrics.reply(timing.replyMs / 1000);
            if (timing.firstTextMs !== null) metrics.firstReplyToken(timing.firstTextMs / 1000);
        }
        this.#options.log.info("turn", {
            turn: turn.id, conversation: turn.conversation, platform: turn.platform, outcome,
            ...(failure === null ? {} : {code: failure.code}),
            firstTextMs: round(timing.firstTextMs), replyMs: round(timing.replyMs ?? timing.elapsedMs()),
        });
    }

    /**
     * Runs `job` on the turn's conversation after its queued jobs, holding its slot (restored
     * if needed). With `cancelFirst`, the running and queued jobs of the conversation are
     * cancelled first (reset, import): nothing started before can write back afterwards.
     */
    async exclusive<T>(turn: Turn, job: ConversationJob<T>, cancelFirst = false): Promise<T> {
        if (this.#stopping) throw shuttingDown();
        if (cancelFirst) this.#queue.cancel(turn.conversation, cancelled.reset());
        try {
            return await this.#queue.run(turn.conversation, "control", (signal) => this.#withSlot(turn, signal, job, true));
        } catch (error) {
            throw this.#storeReply(error, turn) ?? error;
        }
    }

    /** The conversation if it is held in a slot now (for read-only looks that must not wait). */
    held(key: string): Conversation | undefined {
        return this.#live.get(key);
    }

    /** Cancels the running and queued turns of a conversation (an admin "stop"); returns how many. */
    stop(key: string): number {
        return this.#queue.cancel(key, cancelled.stop());
    }

    /**
     * Graceful shutdown: stops admitting (new turns and commands are refused with a "shutting
     * down" reply), lets the admitted ones finish for up to `graceMs`, then aborts what is left
     * (rolled back, not logged), checkpoints every held conversation that has unsaved tokens and
     * gives up its leases. Replies are delivered through their sinks before it resolves, so the
     * adapters must stay connected until then.
     */
    async shutdown(graceMs = 10_000): Promise<void> {
        this.#stopping = true;
        clearInterval(this.#timer);
        const grace = setTimeout(() => this.#queue.cancelAll(cancelled.shutdown()), graceMs);
        await this.#queue.drain();
        clearTimeout(grace);
        await this.#options.dispatcher.idle();
        for (const [key, slot] of this.#slots.held()) await this.#evict(key, slot, "shutdown");
        await this.#options.limits.stop();
    }

    // A failed control job (reset, import, persona) may have changed the slot or the store halfway
    // and keeps no pre-job snapshot: unless it refused up front, the slot is dropped to be restored.
    async #withSlot<T>(turn: Turn, signal: AbortSignal, job: ConversationJob<T>, control = false): Promise<T> {
        signal.throwIfAborted();
        const key = turn.conversation;
        const slot = await this.#slots.acquire(key, (slot) => this.#load(turn, slot));
        const conversation = this.#live.get(key)!;
        try {
            await conversation.settle();
            return await job(conversation, slot, signal);
        } catch (error) {
            // A reply that could not be logged left the slot ahead of the log: the log wins.
            if (error instanceof CommitError || (control && !(error instanceof UserFacingError))) this.#drop(key);
            throw error;
        } finally {
            this.#slots.release(key);
        }
    }

    async #load(turn: Turn, slot: number): Promise<void> {
        const {store} = this.#options.services;
        const key = turn.conversation;
        const record = await store.openConversation(key, {
            ...this.#options.newConversation,
            platform: turn.platform,
            ...(turn.platformIds === undefined ? {} : {platformIds: {...turn.platformIds}}),
        });
        await store.acquireLease(key);
        try {
            if (record.logLength === 0 && turn.parent !== undefined) await this.#inheritParent(key, turn.parent);
            const conversation = new Conversation(this.#options.services, record);
            // Turns a previous run could not log come first: the restore replays them.
            await conversation.settle();
            await conversation.restore(slot);
            this.#live.set(key, conversation);
        } catch (error) {
            await this.#release(key).catch(() => undefined);
            throw error;
        }
    }

    // A new thread starts from its parent's conversation: its log and latest state, as an import.
    async #inheritParent(key: string, parent: string): Promise<void> {
        const {store, engine: {info: descriptor}} = this.#options.services;
        try {
            const file = await store.exportConversation(parent, descriptor);
            await store.importConversation(key, file, descriptor);
        } catch (error) {
            if (!(error instanceof BotError && error.code === "store/not_found")) throw error;
        }
    }

    async #evict(key: string, slot: number, reason: "eviction" | "shutdown" = "eviction"): Promise<void> {
        const conversation = this.#live.get(key);
        this.#live.delete(key);
        if (conversation === undefined) return;
        try {
            await conversation.checkpoint(slot, reason);
        } catch (error) {
            this.#options.log.warn(`checkpoint of ${key} on ${reason} failed; its log still restores it`, error);
        }
        await this.#release(key).catch((error: unknown) => this.#options.log.warn(`releasing the lease of ${key} failed`, error));
    }

    #drop(key: string): void {
        this.#live.delete(key);
        this.#slots.forget(key);
        void this.#release(key).catch(() => undefined);
    }

    // A conversation with turns in the outbox keeps its lease: no other process may serve it before they are logged.
    async #release(key: string): Promise<void> {
        if (!this.#options.services.outbox.has(key)) await this.#options.services.store.releaseLease(key);
    }

    /**
     * Logs the outbox's turns of conversations not held in a slot (left by an earlier run, or
     * evicted while the database was down), each in its conversation's order; those the
     * database or another process refuses stay for the next try.
     */
    async deliverOutbox(): Promise<void> {
        const {outbox, store} = this.#options.services;
        await Promise.all(outbox.keys().filter((key) => !this.#live.has(key)).map((key) => this.#queue.run(key, "control", async () => {
            if (this.#live.has(key) || !outbox.has(key)) return;
            await store.acquireLease(key);
            await outbox.deliver(key, store);
            await this.#release(key);
        }).catch((error: unknown) => this.#options.log.warn(`the outbox turns of ${key} still wait`, error))));
    }

    // Renews the leases of held conversations and checkpoints the quiet ones, each in its own queue.
    async #maintain(): Promise<void> {
        const {store, checkpointPolicy} = this.#options.services;
        for (const [key, conversation] of this.#live) {
            if (this.#queue.isBusy(key)) {
                this.#renewBusy(key);
                continue;
            }
            const quiet = conversation.dirty && conversation.idleMs >= checkpointPolicy.quietMs;
            void this.#queue.run(key, "control", async () => {
                const slot = this.#slots.slotOf(key);
                if (slot === undefined || this.#live.get(key) !== conversation) return;
                try {
                    await store.acquireLease(key);
                } catch (error) {
                    this.#options.log.warn(`lost the lease of ${key}; dropping it from its slot`, error);
                    this.#drop(key);
                    return;
                }
                await conversation.settle();
                if (quiet) await conversation.checkpoint(slot, "quiet");
            }).catch((error: unknown) => this.#options.log.warn(`maintenance of ${key} failed`, error));
        }
        void this.deliverOutbox();
    }

    // A conversation busy longer than its lease (a long turn, or turns back to back) keeps it:
    // renewed beside its jobs. If it left the slot table meanwhile, the renewal is given back.
    #renewBusy(key: string): void {
        const {store} = this.#options.services;
        void store.acquireLease(key).then(async () => {
            if (this.#slots.slotOf(key) === undefined) await store.releaseLease(key);
        }).catch((error: unknown) => this.#options.log.warn(`renewing the lease of ${key} failed`, error));
    }

    #toReply(error: unknown, turn: Turn): BotError {
        if (error instanceof UserFacingError) return error;
        if (turn.signal.aborted) return new UserFacingError("turn/aborted", "(cancelled)");
        const botError = asBotError(error);
        const reply = this.#storeReply(botError, turn);
        if (reply !== null) return reply;
        this.#options.log.warn(`turn ${turn.id} in ${turn.conversation} failed (${botError.code})`, botError);
        return botError;
    }

    // The store's refusals users can act on, as a short reply (the cause goes to the log): chat turns and commands alike.
    #storeReply(error: unknown, turn: Turn): UserFacingError | null {
        if (!(error instanceof BotError) || error instanceof UserFacingError) return null;
        const reply = storeReplies[error.code];
        if (reply === undefined) return null;
        this.#options.log.warn(`${turn.id} in ${turn.conversation} refused (${error.code})`, error);
        return new UserFacingError(error.code, reply, {cause: error});
    }
}

// A turn that can travel between processes has the platform's unique id (a console's line numbers
// start again with each run): logged with it, it is answered once even if its first owner died.
function loggedTurnId(turn: Turn): string | undefined {
    return turn.replyAddress === undefined ? undefined : turn.id;
}

function round(ms: number | null): number | null {
    return ms === null ? null : Math.round(ms);
}
