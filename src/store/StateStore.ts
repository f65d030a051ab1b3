import type {SnapshotDtype, SnapshotRefusal} from "./snapshotCodec.ts";
import type {StateDescriptor} from "./StateDescriptor.ts";

/** Who spoke a turn; `system` is priming text (persona) fed before the first exchange. */
export type TurnRole = "system" | "user" | "assistant";

/** Why a checkpoint is taken (docs/architecture.md § Persistence). */
export type CheckpointReason = "tokens" | "quiet" | "eviction" | "shutdown" | "export" | "import";

/** Settings a conversation is created with. */
export interface ConversationSettings {
    readonly platform: string;
    /** Ids needed to reach the channel again (guild, team, channel, thread). */
    readonly platformIds?: Record<string, string>;
    readonly chatFormat: string;
    readonly sampling?: Record<string, unknown>;
    readonly persona?: string | null;
}

/** A change of a conversation's settings; absent fields keep their value. */
export type SettingsUpdate = Partial<Pick<ConversationSettings, "chatFormat" | "sampling" | "persona">>;

/** A conversation as stored. */
export interface ConversationRecord {
    readonly key: string;
    readonly settings: Required<ConversationSettings>;
    /** Current epoch; bumped by reset and import. */
    readonly epoch: number;
    /** Highest turn sequence number of the current epoch (0 = none). */
    readonly logLength: number;
    /** Tokens logged in the current epoch. */
    readonly tokenCount: number;
}

/** A turn to log: exactly the tokens it fed into the state. */
export interface TurnInput {
    /** The epoch the turn started in: if a reset happened since, the append is refused (`store/stale_epoch`). */
    readonly epoch: number;
    readonly role: TurnRole;
    /** Plain message text (not the formatted prompt). */
    readonly text: string;
    readonly tokens: ArrayLike<number>;
    /** Chosen once per turn: a second append with the same id finds the first instead of logging it again. Random when absent. */
    readonly appendId?: string;
    /**
     * The platform's id of the message a user turn answers, when it is unique on the platform: a
     * conversation logs it once (a second append is refused with `store/already_logged`), and
     * {@link StateStore.loggedAnswer} finds it.
     */
    readonly turnId?: string;
}

/** A message found in the log with its answer: the turn was answered (and logged) before. */
export interface LoggedAnswer {
    readonly epoch: number;
    /** The assistant turn logged after it; null when none follows (it was logged alone). */
    readonly reply: string | null;
}

/** A logged turn. */
export interface LoggedTurn {
    readonly epoch: number;
    /** 1-based position in the epoch's log. */
    readonly seq: number;
    readonly role: TurnRole;
    readonly text: string;
    readonly tokens: readonly number[];
    readonly createdAt: Date;
}

/** A state to checkpoint: the state after turn `logSeq` of `epoch`. */
export interface CheckpointInput {
    readonly epoch: number;
    readonly logSeq: number;
    /** fp32, docs/rwkv5.md §7 layout. */
    readonly state: Float32Array;
    readonly descriptor: StateDescriptor;
    readonly reason: CheckpointReason;
    /** Defaults to the store's dtype (fp32 unless configured). */
    readonly dtype?: SnapshotDtype;
}

/** A checkpoint that was skipped on restore, and why. */
export interface CheckpointRefusal {
    readonly checkpointId: string;
    readonly logSeq: number;
    readonly reason: SnapshotRefusal;
    readonly message: string;
}

/** What restoring a conversation takes: a starting state and the tokens logged after it. */
export interface RestorePlan {
    readonly epoch: number;
    readonly logLength: number;
    /** Null: start from the zero state and replay the whole epoch. */
    readonly checkpoint: {readonly id: string, readonly logSeq: number, readonly state: Float32Array} | null;
    /** Tokens of the turns after the checkpoint, in log order. */
    readonly replayTokens: Uint32Array;
    /** Newer checkpoints that could not be used (another model, codec, size, checksum). */
    readonly refusals: readonly CheckpointRefusal[];
}

/**
 * Persistence of conversations: the turn log (the truth) and state
 * checkpoints (a cache of it). Writes need the conversation's lease.
 * @see docs/architecture.md § Persistence
 */
export interface StateStore {
    /** Returns the conversation, creating it with `settings` when new. */
    openConversation(key: string, settings: ConversationSettings): Promise<ConversationRecord>;
    /**
     * Changes the conversation's chat format, sampling or persona; its epoch, log and
     * checkpoints stay as they are. Needs the lease. Returns the conversation as changed.
     */
    updateSettings(key: string, update: SettingsUpdate): Promise<ConversationRecord>;
    /** Takes or renews the lease; `store/busy_elsewhere` when another live process holds it. */
    acquireLease(key: string): Promise<void>;
    /** Who holds the lease now, as the conversation's row says (null: no one, or no such conversation); the holder may have died since. */
    leaseHolder(key: string): Promise<string | null>;
    /** Gives the lease up (on eviction or shutdown, after the last checkpoint). */
    releaseLease(key: string): Promise<void>;
    /** Logs a turn in its own transaction; resolves once it is durable. */
    appendTurn(key: string, turn: TurnInput): Promise<LoggedTurn>;
    /** Logs several turns (of one epoch) in one transaction: all durable, or none logged. */
    appendTurns(key: string, turns: readonly TurnInput[]): Promise<LoggedTurn[]>;
    /** The message logged with `turnId` in the conversation (any epoch) and the reply logged after it, or null when it never was. */
    loggedAnswer(key: string, turnId: string): Promise<LoggedAnswer | null>;
    /** Stores a checkpoint and applies retention; returns its id. */
    checkpoint(key: string, input: CheckpointInput): Promise<string>;
    /** The latest usable checkpoint of the current epoch plus the tokens to replay after it. */
    planRestore(key: string, descriptor: StateDescriptor): Promise<RestorePlan>;
    /** Starts a new, empty epoch; returns its number. Turns of older epochs are kept. */
    reset(key: string): Promise<number>;
    /** The turns of an epoch (the current one by default), in order. */
    transcript(key: string, epoch?: number): Promise<LoggedTurn[]>;
    /** One portable file: header, the latest usable state, the transcript as JSON. */
    exportConversation(key: string, descriptor: StateDescriptor): Promise<Buffer>;
    /** Verifies an exported file and makes it the conversation's new epoch; returns the epoch. */
    importConversation(key: string, file: Uint8Array, descriptor: StateDescriptor): Promise<number>;
    /** Resolves when the database answers a trivial query (readiness); `store/unavailable` when it does not. */
    ping(): Promise<void>;
    /** How many conversations the database holds (for the operator's figures). */
    countConversations(): Promise<number>;
}
