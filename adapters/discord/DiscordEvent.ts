import type {TurnCommand} from "../../src/core/Turn.ts";

/**
 * The facts of one Discord message or slash command that decide its turn, read from the
 * discord.js object by `readMessage` / `readInteraction`, so that {@link toTurn} stays pure.
 */
export interface DiscordEvent {
    /** The message or interaction id. */
    readonly id: string;
    readonly channelId: string;
    /** The parent channel when `channelId` is a thread, else null. */
    readonly threadParentId: string | null;
    /** Null in direct messages. */
    readonly guildId: string | null;
    readonly isDm: boolean;
    readonly author: {readonly id: string, readonly name: string, readonly isBot: boolean};
    /**
     * The author's server-wide permission bits as computed from the event (roles, owner, or the
     * interaction's `member.permissions`); null outside a server.
     */
    readonly permissions: bigint | null;
    /** The raw message content, or the text of a slash command. */
    readonly content: string;
    /** Display names of the users the message mentions (a pinging reply included), by id. */
    readonly mentions: ReadonlyMap<string, string>;
    /** Whether a file came with it. */
    readonly hasAttachment: boolean;
    /** Set for a slash command. */
    readonly command?: TurnCommand;
    /** A slash command's interaction webhook (its token is valid 15 minutes): where its answer goes. */
    readonly interaction?: {readonly applicationId: string, readonly token: string};
    /** When Discord created the message or interaction, in ms since the epoch. */
    readonly createdAt: number;
}
