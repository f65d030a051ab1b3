import type {ChatInputCommandInteraction} from "discord.js";
import type {TurnCommand} from "../../src/app/Turn.ts";
import type {DiscordEvent} from "./DiscordEvent.ts";

/** Reads the facts {@link toTurn} needs from a slash command, already parsed into `command`. */
export function readInteraction(interaction: ChatInputCommandInteraction, command: TurnCommand, hasAttachment: boolean): DiscordEvent {
    const channel = interaction.channel;
    const member = interaction.member;
    return {
        id: interaction.id,
        channelId: interaction.channelId,
        threadParentId: channel?.isThread() === true ? channel.parentId : null,
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
        createdAt: interaction.createdTimestamp,
    };
}
