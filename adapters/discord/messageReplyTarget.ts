import type {SendableChannels} from "discord.js";
import type {ReplyTarget} from "./ReplyTarget.ts";

/**
 * Answers a message in its channel: the first part replies to it, later parts follow it. Only
 * ids are needed, so the process that received the message and one answering it from elsewhere
 * (whose channel is fetched on first use) post alike.
 */
export function messageReplyTarget(channel: () => Promise<SendableChannels>, messageId: string): ReplyTarget {
    return {
        typing: async () => (await channel()).sendTyping(),
        async post(payload, first) {
            // A reply to a message deleted meanwhile is posted without the reference.
            const reply = first ? {reply: {messageReference: messageId, failIfNotExists: false}} : {};
            const posted = await (await channel()).send({...payload, ...reply});
            return async (edit) => {
                await posted.edit(edit);
            };
        },
    };
}
