import {ChannelType} from "discord.js";
import type {ChatInputCommandInteraction} from "discord.js";
import type {TurnCommand} from "../../src/core/Turn.ts";
import type {DiscordEvent} from "./DiscordEvent.ts";

/** The part of an interaction payload's partial `channel` that tells a thread from a channel. */
export interface InteractionChannelPayload {
    readonly type: number;
    readonly parent_id?: string | null;
}

const THREAD_TYPES: ReadonlySet<number> = new Set([ChannelType.AnnouncementThread, ChannelType.PublicThread, ChannelType.PrivateThread]);

/**
 * Reads the facts {@link toTurn} needs from a slash command, already parsed into `command`.
 * `rawChannel` is the interaction payload's `channel`: when discord.js has not cached the
 * channel (a thread it never saw), it alone says whether this is a thread and of which channel.
 */
export function readInteraction(
    interaction: ChatInputCommandInteraction,
    command: TurnCommand,
    hasAttachment: boolean,
    rawChannel?: InteractionChannelPayload,
): DiscordEvent {
    const channel = interaction.channel;
    const member = interaction.member;
    const threadParentId = channel !== null
        ? (channel.isThread() ? channel.parentId : null)
        : (rawChannel !== undefined && THREAD_TYPES.has(rawChannel.type) ? rawChannel.parent_id ?? null : null);
    return {
        id: interaction.id,
        channelId: interaction.channelId,
        threadParentId,
        guildId: interaction.guildId,
        isDm: interaction.guildId === null,
        author: {
            id: interaction.user.id,
            name: (member !== null && "displayName" in member ? member.displayName : null) ?? interaction.user.displayName,
            isBot: interaction.user.bot,
        },
        // Discord computes the member's permissions for the interaction; the client cannot forge them.
        permissions: interaction.memberPermissions?.bitfield ?? null,
        content: `${command.name} ${command.args}`.trim(),
        mentions: new Map(),
        hasAttachment,
        command,
        interaction: {applicationId: interaction.applicationId, token: interaction.token},
        createdAt: interaction.createdTimestamp,
    };
}
