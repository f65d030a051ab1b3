import {MessageFlags} from "discord.js";
import type {ChatInputCommandInteraction} from "discord.js";
import type {ReplyTarget} from "./ReplyTarget.ts";

/**
 * Answers a deferred slash command: the first part fills the deferred (ephemeral) reply,
 * later parts are ephemeral follow-ups. Discord shows "thinking…" meanwhile, so typing is
 * a no-op.
 */
export function interactionReplyTarget(interaction: ChatInputCommandInteraction): ReplyTarget {
    return {
        typing: async () => {},
        async post(payload, first) {
            if (first) {
                await interaction.editReply(payload);
                return async (edit) => {
                    await interaction.editReply(edit);
                };
            }
            const posted = await interaction.followUp({...payload, flags: MessageFlags.Ephemeral});
            return async (edit) => {
                await interaction.editReply({...edit, message: posted});
            };
        },
    };
}
