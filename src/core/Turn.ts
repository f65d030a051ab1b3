/**
 * The seam between platform adapters and the core: an adapter turns one platform event into a
 * {@link Turn} and a {@link ReplySink}; the core never sees a platform type.
 * @see docs/architecture.md § Seams
 */

/** Where a turn came from: a registered platform's name (`discord`, `slack`, …) or `console`. */
export type Platform = string;

/**
 * Identifies one conversation (one recurrent state): `discord:<channel>`,
 * `discord:<thread>`, `slack:<team>:<channel>`, `slack:<team>:<channel>:<thread_ts>`,
 * `console:<name>`. Built only by adapters' `toTurn()`.
 */
export type ConversationKey = string & {readonly __brand: "ConversationKey"};

/** Brands a string as a {@link ConversationKey}; adapters call this in `toTurn()`. */
export function conversationKey(key: string): ConversationKey {
    return key as ConversationKey;
}

/** Who wrote the turn. `isAdmin` is decided by the adapter, server-side, on every turn. */
export interface TurnAuthor {
    readonly id: string;
    readonly name: string;
    readonly isAdmin: boolean;
    /** The person running the bot (the console): no per-user cooldown applies to them. */
    readonly isOperator?: boolean;
}

/**
 * A file that came with the turn (e.g. a state file for `import`). Adapters build it without
 * downloading anything: only a command that needs the file calls `read()`, after the router's
 * permission check, so nobody can make the bot fetch large files just by attaching them.
 */
export interface TurnAttachment {
    readonly name: string;
    /** In bytes, as the platform declares it. */
    readonly size: number;
    /**
     * Where the platform hosts the file, as plain strings without credentials (e.g. its URL): the
     * same platform's adapter in another process fetches it with its own (`Adapter.attachment`).
     * Absent: the file can be read only in the process it reached.
     */
    readonly address?: AttachmentAddress;
    /**
     * Fetches the bytes. Rejects with a UserFacingError when the file is over the adapter's
     * limit (declared or actual, checked while reading) or cannot be read.
     */
    read(): Promise<Uint8Array>;
}

/** Where a platform hosts an attachment, as plain strings (see {@link TurnAttachment.address}). */
export type AttachmentAddress = Readonly<Record<string, string>>;

/**
 * An admin command already parsed by the platform (a slash command); mention and console
 * commands arrive as plain text and are parsed by the router.
 */
export interface TurnCommand {
    readonly name: string;
    /** The rest of the command line, trimmed. */
    readonly args: string;
}

/**
 * Where a reply goes, as plain strings (channel, thread, a slash command's response URL): what
 * another process needs to answer the turn through the platform's Web API. Built by adapters'
 * `toTurn()`, read back only by the same platform's adapter (`Adapter.replySink`).
 */
export type ReplyAddress = Readonly<Record<string, string>>;

/** One message for the bot, normalised. */
export interface Turn {
    /** Platform-unique id of the event, for de-duplication of redeliveries. */
    readonly id: string;
    readonly platform: Platform;
    readonly conversation: ConversationKey;
    /** A thread's parent conversation: a new thread starts from the parent's state. */
    readonly parent?: ConversationKey;
    /** Platform ids worth keeping with the conversation (guild, channel, team, thread). */
    readonly platformIds?: Readonly<Record<string, string>>;
    readonly author: TurnAuthor;
    /** The message text with the bot's mention removed. */
    readonly text: string;
    readonly command?: TurnCommand;
    readonly attachment?: TurnAttachment;
    /** Set by adapters that can answer from any process: a turn without it is answered only where it arrived. */
    readonly replyAddress?: ReplyAddress;
    /** When the platform received it (ms since the epoch). */
    readonly receivedAt: number;
    /** Aborted by the adapter when the message is deleted; the core may abort it too. */
    readonly signal: AbortSignal;
}
