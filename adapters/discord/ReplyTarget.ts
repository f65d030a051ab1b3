import type {AttachmentPayload} from "discord.js";

/** One message's content as the reply sink sends it: never pings anyone. */
export interface ReplyPayload {
    readonly content?: string;
    readonly files?: AttachmentPayload[];
    readonly allowedMentions: {readonly parse: []};
}

/** Edits one message the target posted; `messageId` names a channel message another process can edit too. */
export type EditMessage = ((payload: ReplyPayload) => Promise<void>) & {readonly messageId?: string};

/**
 * Where a {@link DiscordReplySink} posts: a channel (answering a mention) or an interaction
 * (answering a slash command). The sink owns splitting and throttling; a target only talks
 * to Discord.
 */
export interface ReplyTarget {
    /** Shows the bot as working; a no-op where Discord shows it already (deferred interactions). */
    typing(): Promise<void>;
    /** Posts one message: the first answers the event, later ones continue it. */
    post(payload: ReplyPayload, first: boolean): Promise<EditMessage>;
    /** The first message of this reply, posted by a process that died: edited instead of posting another. */
    readonly resumed?: EditMessage;
}
