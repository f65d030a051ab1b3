import type {SendableChannels} from "discord.js";
import type {EditMessage, ReplyPayload, ReplyTarget} from "./ReplyTarget.ts";

/**
 * Answers a message in its channel: the first part replies to it, later parts follow it. Only
 * ids are needed, so the process that received the message and one answering it from elsewhere
 * (whose channel is fetched on first use) post alike. `resume`: the id of this reply's first
 * message, posted by a process that died, which this target edits instead of posting anew.
 */
export function messageReplyTarget(channel: () => Promise<SendableChannels>, messageId: string, resume?: string): ReplyTarget {
    const editing = (id: string): EditMessage => Object.assign(async (edit: ReplyPayload) => {
        await (await channel()).messages.edit(id, edit);
    }, {messageId: id});
    return {
        typing: async () => (await channel()).sendTyping(),
        async post(payload, first) {
            // A reply to a message deleted meanwhile is posted without the reference.
            const reply = first ? {reply: {messageReference: messageId, failIfNotExists: false}} : {};
            const posted = await (await channel()).send({...payload, ...reply});
            return Object.assign(async (edit: ReplyPayload) => {
                await posted.edit(edit);
            }, {messageId: posted.id});
        },
        ...(resume === undefined ? {} : {resumed: editing(resume)}),
    };
}
