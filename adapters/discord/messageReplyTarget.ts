import type {Message, SendableChannels} from "discord.js";
import type {ReplyTarget} from "./ReplyTarget.ts";

/** Answers a message in its channel: the first part replies to it, later parts follow it. */
export function messageReplyTarget(message: Message, channel: SendableChannels): ReplyTarget {
    return {
        typing: () => channel.sendTyping(),
        async post(payload, first) {
            const posted = first ? await message.reply(payload) : await channel.send(payload);
            return async (edit) => {
                await posted.edit(edit);
            };
        },
    };
}
