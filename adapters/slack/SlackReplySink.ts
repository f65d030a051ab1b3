import {UserFacingError} from "../../src/errors/BotError.ts";
import type {ReplyFile} from "../../src/core/ReplySink.ts";
import type {EditThrottle} from "../shared/EditThrottle.ts";
import {StreamingReplySink} from "../shared/StreamingReplySink.ts";
import type {MessageSurface} from "../shared/StreamingReplySink.ts";
import type {Logger} from "../../src/core/Logger.ts";

/** The Slack calls one reply needs, bound to its channel (and thread). */
export interface SlackMessaging {
    /** `chat.postMessage`; resolves to the new message's `ts`. */
    post(text: string): Promise<string>;
    /** `chat.update` of a message posted by `post`. */
    edit(ts: string, text: string): Promise<void>;
    /** `chat.delete` of a message posted by `post`. */
    remove(ts: string): Promise<void>;
    /** `files.uploadV2` into the same channel (and thread). */
    upload(file: ReplyFile): Promise<void>;
    /** A note only the requester sees (a slash command's `response_url`), when there is one. */
    notice?: (text: string) => Promise<void>;
}

/** Presentation settings of a {@link SlackReplySink}. */
export interface SlackReplySinkOptions {
    /** Longest message, in characters, before the reply continues in another one. */
    readonly splitAt?: number;
    /** Text of the placeholder posted by `typing()`; null posts none (slash commands). */
    readonly placeholder?: string | null;
    /** Delivery failures, for the log (never shown as is). */
    readonly log: Logger;
    /** The `ts` of a message posted for this reply by a process that died: edited into the answer instead of a new one. */
    readonly resume?: string;
}

/**
 * One reply in a Slack thread: a placeholder message replaced by the answer, continued in
 * follow-up messages past `splitAt` characters (Slack refuses messages long before its
 * documented 40k), a file uploaded after the text, and a failure in a message of its own (or
 * privately, for a slash command). Model text is escaped so it cannot ping anyone. The
 * streaming itself is the shared {@link StreamingReplySink}'s.
 */
export class SlackReplySink extends StreamingReplySink<string> {
    constructor(messaging: SlackMessaging, throttle: EditThrottle, options: SlackReplySinkOptions) {
        super(slackSurface(messaging, options), throttle, options.log, options.resume);
    }
}

function slackSurface(messaging: SlackMessaging, options: SlackReplySinkOptions): MessageSurface<string> {
    const placeholder = options.placeholder === undefined ? "_…thinking_" : options.placeholder;
    const say = async (text: string): Promise<void> => {
        if (messaging.notice !== undefined) await messaging.notice(text);
        else await messaging.post(text);
    };
    return {
        maxLength: options.splitAt ?? 3500,
        escape: escapeMrkdwn,
        ...(placeholder !== null && {placeholder}),
        emptyReply: "_(empty reply)_",
        post: (text) => messaging.post(text),
        edit: (ts, text) => messaging.edit(ts, text),
        remove: (ts) => messaging.remove(ts),
        filesInline: false,
        sendFile: async (file) => {
            try {
                await messaging.upload(file);
            } catch (error) {
                options.log.warn(`file upload of ${file.name} failed`, error);
                await say("I couldn't upload the file here.");
            }
        },
        failureLine: (error) => `:warning: ${escapeMrkdwn(error instanceof UserFacingError ? error.message : `Sorry, something went wrong (${error.code}).`)}`,
        failure: "own message",
        ...(messaging.notice !== undefined && {notice: messaging.notice}),
        addressOf: (ts) => ({resume: ts}),
    };
}

/** Slack reads `<…>` as mentions and links: escaping `&`, `<` and `>` keeps model text inert. */
export function escapeMrkdwn(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
