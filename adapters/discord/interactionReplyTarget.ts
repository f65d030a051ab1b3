import {MessageFlags} from "discord.js";
import type {InteractionWebhook} from "discord.js";
import type {ReplyTarget} from "./ReplyTarget.ts";

/**
 * Answers a deferred slash command through its interaction webhook (the application id and the
 * token, valid 15 minutes, so any process can): the first part fills the deferred (ephemeral)
 * reply, later parts are ephemeral follow-ups. Discord shows "thinking…" meanwhile, so typing
 * is a no-op.
 */
export function interactionReplyTarget(webhook: InteractionWebhook): ReplyTarget {
    return {
        typing: async () => {},
        async post(payload, first) {
            if (first) {
                await webhook.editMessage("@original", payload);
                return async (edit) => {
                    await webhook.editMessage("@original", edit);
                };
            }
            const posted = await webhook.send({...payload, flags: MessageFlags.Ephemeral});
            return async (edit) => {
                await webhook.editMessage(posted, edit);
            };
        },
    };
}
