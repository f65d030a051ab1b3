import {InteractionWebhook} from "discord.js";
import type {Client, SendableChannels} from "discord.js";
import type {ReplyAddress} from "../../src/core/Turn.ts";
import {BotError} from "../../src/errors/BotError.ts";
import {interactionReplyTarget} from "./interactionReplyTarget.ts";
import {messageReplyTarget} from "./messageReplyTarget.ts";
import type {ReplyTarget} from "./ReplyTarget.ts";

/**
 * The target of a turn another process received, from its reply address (see `toTurn`): a slash
 * command's interaction webhook, or the channel and the message a mention is answered in. Both
 * go through REST only, so this process need not see the guild on its gateway shard.
 */
export function addressedReplyTarget(client: Client<true>, address: ReplyAddress): ReplyTarget {
    const {channel, message, application, token, resume} = address;
    if (application !== undefined && token !== undefined) return interactionReplyTarget(new InteractionWebhook(client, application, token));
    if (channel === undefined || message === undefined) throw new BotError("adapter/bad_reply_address", `a Discord reply address needs a channel and a message, or an application and a token (got ${Object.keys(address).join(", ") || "nothing"})`);
    let fetched: Promise<SendableChannels> | undefined;
    return messageReplyTarget(() => (fetched ??= sendableChannel(client, channel)), message, resume);
}

async function sendableChannel(client: Client, id: string): Promise<SendableChannels> {
    // A channel of a guild on another process's shard is not cached here, nor its guild.
    const channel = await client.channels.fetch(id, {allowUnknownGuild: true});
    if (channel === null || !channel.isSendable()) throw new BotError("adapter/channel_unusable", `Discord channel ${id} cannot be posted in`);
    return channel;
}
