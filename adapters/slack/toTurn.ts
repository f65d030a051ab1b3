import {conversationKey} from "../../src/core/Turn.ts";
import type {ReplyAddress, Turn, TurnAttachment, TurnAuthor} from "../../src/core/Turn.ts";

/** The fields of an `app_mention` event that matter to us. */
export interface SlackMentionEvent {
    readonly user?: string;
    readonly bot_id?: string;
    readonly subtype?: string;
    readonly edited?: unknown;
    readonly text: string;
    readonly ts: string;
    readonly channel: string;
    readonly thread_ts?: string;
}

/** The fields of a slash command payload that matter to us. */
export interface SlackSlashCommand {
    readonly team_id: string;
    readonly channel_id: string;
    readonly user_id: string;
    readonly text: string;
    readonly trigger_id: string;
    /** Where private notes about the command go (ephemeral messages). */
    readonly response_url?: string;
}

/** A platform event that may become a turn. */
export type SlackSource =
    | {
        readonly kind: "mention";
        /** The envelope's `event_id`: Slack's redeliveries repeat it. */
        readonly eventId: string;
        readonly teamId: string;
        readonly event: SlackMentionEvent;
        /** The bot's own user id, to drop its own messages and strip its mention. */
        readonly botUserId: string | undefined;
    }
    | {readonly kind: "command"; readonly command: SlackSlashCommand};

/** What the adapter resolved around the event (the author's role needs `users.info`). */
export interface SlackTurnContext {
    readonly author: TurnAuthor;
    readonly receivedAt: number;
    readonly signal: AbortSignal;
    readonly attachment?: TurnAttachment;
}

/**
 * Where the answer to `source` goes: a mention is answered in its thread, a slash command in its
 * channel, with private notes to its `response_url`.
 */
export function slackReplyAddress(source: SlackSource): ReplyAddress {
    if (source.kind === "command") {
        const {command} = source;
        return {channel: command.channel_id, ...(command.response_url === undefined ? {} : {responseUrl: command.response_url})};
    }
    return {channel: source.event.channel, thread: source.event.thread_ts ?? source.event.ts};
}

/**
 * Who wrote the event, or null when it is not for the bot: messages of bots (itself included),
 * edits and other subtypes. The adapter asks this before looking the author up.
 */
export function slackAuthorId(source: SlackSource): string | null {
    if (source.kind === "command") return source.command.user_id;
    const {event, botUserId} = source;
    if (event.bot_id !== undefined || event.subtype !== undefined || event.edited !== undefined) return null;
    if (event.user === undefined || event.user === botUserId) return null;
    return event.user;
}

/**
 * Normalises an `app_mention` or a `/rwkv` slash command into a {@link Turn}, or null when the
 * event is not for the bot. Channels are keyed per workspace (`slack:<team>:<channel>`); a
 * mention inside a thread gets the thread's own conversation, which starts from the channel's.
 * `/rwkv ask <text>` is a chat turn; every other sub-command arrives parsed in `command`.
 */
export function toTurn(source: SlackSource, context: SlackTurnContext): Turn | null {
    if (slackAuthorId(source) === null) return null;
    const common = {platform: "slack" as const, author: context.author, receivedAt: context.receivedAt, signal: context.signal, replyAddress: slackReplyAddress(source)};

    if (source.kind === "command") {
        const {command} = source;
        const channelKey = conversationKey(`slack:${command.team_id}:${command.channel_id}`);
        const text = command.text.trim();
        const [first = "", ...rest] = text.split(/\s+/);
        const name = first.toLowerCase();
        const args = rest.join(" ");
        const platformIds = {team: command.team_id, channel: command.channel_id};
        if (name === "ask") return {...common, id: command.trigger_id, conversation: channelKey, platformIds, text: args};
        return {
            ...common, id: command.trigger_id, conversation: channelKey, platformIds, text,
            command: {name: name === "" ? "help" : name, args},
        };
    }

    const {event, teamId, botUserId} = source;
    const channelKey = `slack:${teamId}:${event.channel}`;
    const text = slackTextToPlain(event.text, botUserId);
    const base = {
        ...common, id: source.eventId, text,
        ...(context.attachment === undefined ? {} : {attachment: context.attachment}),
    };
    if (event.thread_ts !== undefined && event.thread_ts !== event.ts) {
        return {
            ...base,
            conversation: conversationKey(`${channelKey}:${event.thread_ts}`),
            parent: conversationKey(channelKey),
            platformIds: {team: teamId, channel: event.channel, thread: event.thread_ts},
        };
    }
    return {...base, conversation: conversationKey(channelKey), platformIds: {team: teamId, channel: event.channel}};
}

/**
 * Slack `mrkdwn` as the model should read it: the bot's mention removed, other mentions and
 * links reduced to their visible text, and HTML entities decoded.
 */
export function slackTextToPlain(text: string, botUserId: string | undefined): string {
    return text
        .replace(/<([^<>]*)>/g, (_whole, inner: string) => {
            const [target = "", label] = inner.split("|", 2);
            if (target.startsWith("@")) return target.slice(1) === botUserId ? "" : label === undefined ? target : `@${label}`;
            if (target.startsWith("#")) return label === undefined ? target : `#${label}`;
            if (target.startsWith("!")) return label ?? `@${target.slice(1).split("^")[0]}`;
            return label ?? target;
        })
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&")
        .replace(/[ \t]{2,}/g, " ")
        .trim();
}
