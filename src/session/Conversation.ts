import {randomUUID} from "node:crypto";
import type {Metrics} from "../core/Metrics.ts";
import type {ReplySink} from "../core/ReplySink.ts";
import type {SlotStates} from "../core/SlotStates.ts";
import type {Stepper} from "../core/Stepper.ts";
import {StoreError, UserFacingError} from "../errors/BotError.ts";
import {mergeSamplingOptions} from "../inference/SamplingOptions.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import type {Tokenizer} from "../inference/Tokenizer.ts";
import {checkpointDue} from "../store/checkpointDue.ts";
import type {CheckpointPolicy} from "../store/checkpointDue.ts";
import {restoreConversation} from "../store/restoreConversation.ts";
import type {CheckpointReason, ConversationRecord, LoggedTurn, SettingsUpdate, StateStore} from "../store/StateStore.ts";
import type {HeldExchange, TurnOutbox} from "../store/TurnOutbox.ts";
import {chatFormats, isChatFormatName, sanitizeUserText} from "./chatFormats.ts";
import type {ChatFormat} from "./chatFormats.ts";
import {createReplySampling} from "./createReplySampling.ts";
import type {ReplySampling} from "./createReplySampling.ts";
import {EngineSlotReplayer} from "./EngineSlotReplayer.ts";
import {generateReply} from "./generateReply.ts";
import {prefill} from "./prefill.ts";

/** What every conversation shares: the engine's states, the shared stepper, the store and the reply settings. */
export interface ConversationServices {
    /** The engine's slot states; its `info` describes the states the store keeps. */
    readonly engine: SlotStates;
    /** Steps restores and primings; shared with the other conversations (the scheduler's batcher). */
    readonly stepper: Stepper;
    readonly tokenizer: Tokenizer;
    readonly store: StateStore;
    /** Where finished turns wait while the database is down. */
    readonly outbox: TurnOutbox;
    /** Sampling when a conversation sets none of its own. */
    readonly sampling: SamplingOptions;
    /** Longest reply, in tokens. */
    readonly maxTokens: number;
    /** Prompt tokens per engine step. */
    readonly prefillChunkTokens: number;
    readonly checkpointPolicy: CheckpointPolicy;
    /** Where tokens fed and generated, checkpoint writes and restores are counted. */
    readonly metrics: Metrics;
}

/** The last checkpoint this process knows of. */
export interface CheckpointMark {
    readonly logSeq: number;
    /** When this process took it; null when found at restore. */
    readonly at: Date | null;
}

/** Thrown when a finished reply could not be logged: the slot no longer matches the log and must be dropped. */
export class CommitError extends UserFacingError {}

/**
 * One conversation held in an engine slot: formats and feeds a turn (chunked prefill through
 * the shared batcher), generates with the format's stop rules, streams to the sink, and
 * commits through the store. A turn that is aborted or fails leaves the slot exactly as
 * before it (the pre-turn state is restored) and logs nothing.
 */
export class Conversation {
    readonly key: string;
    #record: ConversationRecord;
    #tokensSinceCheckpoint = 0;
    #lastActive = Date.now();
    #lastCheckpoint: CheckpointMark | null = null;
    #sampling: {settings: unknown, sampling: ReplySampling} | null = null;
    // The slot holds an exchange that waits in the outbox: the state is ahead of the log.
    #ahead = false;
    readonly #services: ConversationServices;

    constructor(services: ConversationServices, record: ConversationRecord) {
        this.#services = services;
        this.#record = record;
        this.key = record.key;
    }

    /** The conversation as last known: epoch, log length, token count, settings. */
    get record(): ConversationRecord {
        return this.#record;
    }

    /** Whether the slot holds tokens no checkpoint has. */
    get dirty(): boolean {
        return this.#tokensSinceCheckpoint > 0;
    }

    /** Milliseconds since the last turn or restore. */
    get idleMs(): number {
        return Date.now() - this.#lastActive;
    }

    /** The last checkpoint known, or null when none. */
    get lastCheckpoint(): CheckpointMark | null {
        return this.#lastCheckpoint;
    }

    /** The chat format in use (the default one when the stored name is unknown). */
    get format(): ChatFormat {
        const name = this.#record.settings.chatFormat;
        return isChatFormatName(name) ? chatFormats[name] : chatFormats.chat;
    }

    /**
     * Loads the stored state into `slot`: the latest usable checkpoint plus a replay of the
     * turns after it; a conversation with an empty log is primed with its persona.
     */
    async restore(slot: number): Promise<void> {
        const {engine, stepper, prefillChunkTokens, store} = this.#services;
        // The replay goes through the shared stepper: a restore shares steps with the other conversations.
        const batched = {info: engine.info, importState: engine.importState.bind(engine), step: stepper.step.bind(stepper)};
        const started = performance.now();
        const outcome = await restoreConversation(store, this.key, new EngineSlotReplayer(batched, slot, prefillChunkTokens));
        this.#services.metrics.checkpoint("restore", (performance.now() - started) / 1000);
        this.#services.metrics.tokens("prefilled", outcome.replayedTokens);
        this.#record = {...this.#record, epoch: outcome.epoch, logLength: outcome.logLength};
        this.#tokensSinceCheckpoint = outcome.replayedTokens;
        this.#lastCheckpoint = outcome.fromLogSeq > 0 ? {logSeq: outcome.fromLogSeq, at: null} : null;
        this.#lastActive = Date.now();
        if (outcome.logLength === 0) await this.#prime(slot);
    }

    /**
     * Answers one chat message. Streams through `sink.update`, logs the exchange, then calls
     * `sink.complete` (a checkpoint by policy, see {@link dueCheckpoint}, is the caller's: the
     * reply is delivered by then, so its failure must not reach the sink). Rejects (with the slot restored to its pre-turn state) when `signal`
     * aborts or the engine fails. A reply the database could not log waits in the outbox (see {@link settle}); rejects with a {@link CommitError} when neither took it.
     * With `turnId` (the platform's unique id of the message) the message is logged with it, and a
     * message found logged already is not answered again: its logged reply is delivered instead.
     */
    async reply(slot: number, text: string, sink: ReplySink, stepper: Stepper, signal: AbortSignal, turnId?: string): Promise<void> {
        const {engine, tokenizer, maxTokens, prefillChunkTokens} = this.#services;
        // A process that died after logging this turn (before or after its reply reached the user): the log says what it answered.
        if (turnId !== undefined && await this.#redeliver(turnId, sink)) return;
        const epoch = this.#record.epoch;
        const format = this.format;
        const message = sanitizeUserText(text, format);
        if (message === "") throw new UserFacingError("turn/empty", "There is nothing to answer in that message.");
        const prompt = tokenizer.encode(format.userTurn(message));
        let replyText: string;
        let replyTokens: number[];
        const before = await engine.exportState(slot);
        void sink.typing();
        try {
            const reply = await generateReply({
                engine: stepper, slot, tokenizer, sampling: this.#replySampling(), prompt, maxTokens, stop: format.stop, prefillChunkTokens, signal,
                onText: (textSoFar) => void sink.update(textSoFar),
            });
            signal.throwIfAborted();
            // A reply cut short still has to end its exchange, so the next turn starts cleanly.
            const closing = reply.stopReason === "stop" ? format.afterReply : `${format.stop[0] ?? ""}${format.afterReply}`;
            const closingTokens = closing === "" ? [] : tokenizer.encode(closing);
            if (closingTokens.length > 0) await stepper.step([{slot, tokens: closingTokens, logits: "none"}]);
            signal.throwIfAborted();
            replyText = reply.text;
            replyTokens = [...reply.tokens, ...closingTokens];
            this.#services.metrics.tokens("prefilled", prompt.length + closingTokens.length);
            this.#services.metrics.tokens("generated", reply.tokens.length);
        } catch (error) {
            await engine.importState(slot, before);
            throw error;
        }
        await this.#commit(epoch, message, prompt, replyText, replyTokens, turnId);
        await sink.complete(replyText === "" ? "…" : replyText);
    }

    // Delivers the logged reply of a message logged already; false when it is not in the log.
    async #redeliver(turnId: string, sink: ReplySink): Promise<boolean> {
        const answered = await this.#services.store.loggedAnswer(this.key, turnId);
        if (answered === null) return false;
        if (answered.reply === null) {
            await sink.fail(new UserFacingError("turn/answered_elsewhere", "That message was answered already, but its reply could not be shown again."));
        } else {
            await sink.complete(answered.reply === "" ? "…" : answered.reply);
        }
        return true;
    }

    /** The reason a checkpoint is due by token count after a turn, or null (quiet ones are the scheduler's). */
    get dueCheckpoint(): CheckpointReason | null {
        return checkpointDue(this.#services.checkpointPolicy, this.#tokensSinceCheckpoint, 0);
    }

    /**
     * Logs the turns waiting in the outbox, if any (a conversation waits for them: nothing else
     * is written before them). Rejects with a user-facing error while the database is down.
     */
    async settle(): Promise<void> {
        const {outbox, store} = this.#services;
        if (!outbox.has(this.key)) return;
        let delivered: Awaited<ReturnType<TurnOutbox["deliver"]>>;
        try {
            delivered = await outbox.deliver(this.key, store);
        } catch (error) {
            const unavailable = error instanceof StoreError && error.code === "store/unavailable";
            throw new UserFacingError("store/outbox_waiting", unavailable
                ? "The database is unavailable and this conversation's last reply is not saved yet; it waits until it is. Try again in a minute."
                : "This conversation's last reply could not be saved yet; it waits until it is. Try again in a minute.", {cause: error});
        }
        const last = delivered.logged.at(-1);
        if (last !== undefined && last.epoch === this.#record.epoch) {
            this.#record = {...this.#record, logLength: last.seq, tokenCount: this.#record.tokenCount + delivered.logged.reduce((n, turn) => n + turn.tokens.length, 0)};
        }
        // Set aside (a reset closed its epoch): the slot no longer matches the log.
        if (delivered.setAside > 0 && this.#ahead) throw new CommitError("turn/not_saved", "This conversation was reset before its last reply could be saved; try again.");
        this.#ahead = false;
    }

    /** Saves the slot's state as a checkpoint at the current log position; skipped when nothing is unsaved, or while the log lags behind the slot. */
    async checkpoint(slot: number, reason: CheckpointReason): Promise<void> {
        if (!this.dirty || this.#ahead) return;
        const started = performance.now();
        const state = await this.#services.engine.exportState(slot);
        const {epoch, logLength} = this.#record;
        await this.#services.store.checkpoint(this.key, {epoch, logSeq: logLength, state, descriptor: this.#services.engine.info, reason});
        this.#services.metrics.checkpoint("write", (performance.now() - started) / 1000);
        this.#tokensSinceCheckpoint = 0;
        this.#lastCheckpoint = {logSeq: logLength, at: new Date()};
    }

    /** Starts a new epoch: the slot goes back to the initial state (empty, or primed with the persona). */
    async reset(slot: number): Promise<void> {
        const epoch = await this.#services.store.reset(this.key);
        this.#record = {...this.#record, epoch, logLength: 0, tokenCount: 0};
        this.#tokensSinceCheckpoint = 0;
        this.#lastCheckpoint = null;
        await this.#services.engine.importState(slot, null);
        await this.#prime(slot);
    }

    /** The portable export file of the conversation (checkpoint first to spare the importer a replay). */
    async exportFile(): Promise<Uint8Array> {
        return this.#services.store.exportConversation(this.key, this.#services.engine.info);
    }

    /** The turns of the current epoch, oldest first. */
    async transcript(): Promise<LoggedTurn[]> {
        return this.#services.store.transcript(this.key, this.#record.epoch);
    }

    /** Replaces the conversation with an exported file's (a new epoch) and loads it into `slot`; returns its turn count. */
    async importFile(slot: number, file: Uint8Array): Promise<number> {
        try {
            await this.#services.store.importConversation(this.key, file, this.#services.engine.info);
        } catch (error) {
            if (error instanceof StoreError && error.code === "store/import_refused") throw new UserFacingError(error.code, error.message, {cause: error});
            throw error;
        }
        await this.#reload(slot);
        return this.#record.logLength;
    }

    /**
     * Changes the chat format, sampling or persona: the next turn uses them; the state, the log
     * and the epoch stay as they are (a persona is primed at the start of the next epoch).
     */
    async changeSettings(update: SettingsUpdate): Promise<void> {
        this.#record = await this.#services.store.updateSettings(this.key, update);
    }

    async #reload(slot: number): Promise<void> {
        this.#record = await this.#services.store.openConversation(this.key, this.#record.settings);
        this.#sampling = null;
        await this.restore(slot);
    }

    // Feeds the persona as a logged system turn: the primed state is then restorable like any other.
    async #prime(slot: number): Promise<void> {
        const persona = this.#record.settings.persona;
        if (persona === null || persona === "") return;
        const tokens = this.#services.tokenizer.encode(persona);
        await prefill(this.#services.stepper, slot, tokens, this.#services.prefillChunkTokens);
        const logged = await this.#services.store.appendTurn(this.key, {epoch: this.#record.epoch, role: "system", text: persona, tokens});
        this.#advance(logged.seq, tokens.length);
    }

    async #commit(epoch: number, message: string, prompt: number[], replyText: string, replyTokens: number[], turnId: string | undefined): Promise<void> {
        const {store, outbox} = this.#services;
        const exchange: HeldExchange = {epoch, turns: [
            {epoch, role: "user", text: loggableText(message), tokens: prompt, appendId: randomUUID(), ...(turnId === undefined ? {} : {turnId})},
            {epoch, role: "assistant", text: loggableText(replyText), tokens: replyTokens, appendId: randomUUID()},
        ]};
        try {
            // One transaction: a crash between the two would leave a question without its answer
            // in the log, and every later restore would replay it into the state.
            const logged = await store.appendTurns(this.key, exchange.turns);
            this.#advance(logged.at(-1)?.seq ?? this.#record.logLength, prompt.length + replyTokens.length);
        } catch (error) {
            if (error instanceof StoreError && error.code === "store/already_logged") {
                throw new CommitError("turn/answered_elsewhere", "That message was answered already.", {cause: error});
            }
            if (!(error instanceof StoreError && error.code === "store/unavailable")) {
                throw new CommitError("turn/not_saved", "That reply could not be saved, try again.", {cause: error});
            }
            // The database is down, the reply is ready: it waits on disk and the slot keeps it.
            try {
                await outbox.hold(this.key, exchange);
            } catch (holdError) {
                throw new CommitError("turn/not_saved", "The database is unavailable, try again.", {cause: new AggregateError([error, holdError], "neither the database nor the outbox took the turn")});
            }
            this.#ahead = true;
            this.#tokensSinceCheckpoint += prompt.length + replyTokens.length;
            this.#lastActive = Date.now();
        }
    }

    #advance(logSeq: number, tokens: number): void {
        this.#record = {...this.#record, logLength: logSeq, tokenCount: this.#record.tokenCount + tokens};
        this.#tokensSinceCheckpoint += tokens;
        this.#lastActive = Date.now();
    }

    #replySampling(): ReplySampling {
        const settings = this.#record.settings.sampling;
        if (this.#sampling?.settings !== settings) {
            const merged = mergeSamplingOptions(this.#services.sampling, settings as Partial<SamplingOptions>);
            const options = merged.ok ? merged.options : this.#services.sampling;
            this.#sampling = {settings, sampling: createReplySampling(options, this.#services.tokenizer, this.#services.engine.info.nVocab)};
        }
        return this.#sampling.sampling;
    }
}

// Postgres text cannot hold NUL, which a byte-level model can generate; the tokens keep the exact bytes.
function loggableText(text: string): string {
    return text.replaceAll("\u0000", "\ufffd");
}
