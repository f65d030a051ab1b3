import type {Message} from "discord.js";
import type {DiscordEvent} from "./DiscordEvent.ts";

/** Reads the facts {@link toTurn} needs from a discord.js message. */
export function readMessage(message: Message): DiscordEvent {
    const channel = message.channel;
    const mentions = new Map<string, string>();
    for (const [id, user] of message.mentions.users) mentions.set(id, message.mentions.members?.get(id)?.displayName ?? user.displayName);
    return {
        id: message.id,
        channelId: message.channelId,
        threadParentId: channel.isThread() ? channel.parentId : null,
        guildId: message.guildId,
        isDm: channel.isDMBased(),
        author: {id: message.author.id, name: message.member?.displayName ?? message.author.displayName, isBot: message.author.bot || message.webhookId !== null},
        // Roles, the owner and Administrator as discord.js combines them from the server's cached roles.
        permissions: message.member?.permissions.bitfield ?? null,
        content: message.content,
        mentions,
        hasAttachment: message.attachments.size > 0,
        createdAt: message.createdTimestamp,
    };
}
