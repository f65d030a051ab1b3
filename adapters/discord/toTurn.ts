import {conversationKey} from "../../src/core/Turn.ts";
import type {ReplyAddress, Turn} from "../../src/core/Turn.ts";
import type {DiscordEvent} from "./DiscordEvent.ts";
import {hasAdminPermission} from "./hasAdminPermission.ts";

/** What {@link toTurn} needs besides the event. */
export interface ToTurnContext {
    /** The bot's own user id. */
    readonly botUserId: string;
    /** Whether direct messages are answered. */
    readonly allowDms: boolean;
    /** Aborted by the adapter when the message is deleted or the adapter stops. */
    readonly signal: AbortSignal;
}

const USER_MENTION = /<@!?(\d+)>/g;

/**
 * Where the answer to `event` goes, for any process to answer it through REST (the adapter's
 * `replySink`): a slash command's interaction webhook (the receiver has deferred its reply
 * already), or the channel and the message a mention's answer replies to.
 */
function discordReplyAddress(event: DiscordEvent): ReplyAddress {
    if (event.interaction !== undefined) return {channel: event.channelId, application: event.interaction.applicationId, token: event.interaction.token};
    return {channel: event.channelId, message: event.id};
}

/**
 * Turns a Discord event into a {@link Turn}, or null when it is not for the bot: bots (itself
 * included), server messages that do not mention it, direct messages when they are off, and
 * messages left empty (no file either) once the mention is gone. The adapter adds the file's
 * bytes to the turn after downloading them. A channel is `discord:<channelId>`; a thread
 * is `discord:<threadId>` with its channel as parent, so it starts from the channel's state;
 * a DM is `discord:dm:<channelId>`. The author is an admin with Administrator or Manage
 * Server, and in a DM, whose conversation is theirs alone.
 */
export function toTurn(event: DiscordEvent, context: ToTurnContext): Turn | null {
    if (event.author.isBot || event.author.id === context.botUserId) return null;
    if (event.isDm && !context.allowDms) return null;
    if (event.command === undefined && !event.isDm && !event.mentions.has(context.botUserId)) return null;

    const text = event.content
        .replace(USER_MENTION, (mention, id: string) => (id === context.botUserId ? "" : `@${event.mentions.get(id) ?? mention}`))
        .trim();
    if (event.command === undefined && text === "" && !event.hasAttachment) return null;

    const platformIds: Record<string, string> = {channel: event.threadParentId ?? event.channelId};
    if (event.guildId !== null) platformIds.guild = event.guildId;
    if (event.threadParentId !== null) platformIds.thread = event.channelId;

    return {
        id: event.id,
        platform: "discord",
        conversation: conversationKey(event.isDm ? `discord:dm:${event.channelId}` : `discord:${event.channelId}`),
        ...(event.threadParentId !== null && {parent: conversationKey(`discord:${event.threadParentId}`)}),
        platformIds,
        author: {id: event.author.id, name: event.author.name, isAdmin: event.isDm || hasAdminPermission(event.permissions)},
        text,
        ...(event.command !== undefined && {command: event.command}),
        replyAddress: discordReplyAddress(event),
        receivedAt: event.createdAt,
        signal: context.signal,
    };
}
