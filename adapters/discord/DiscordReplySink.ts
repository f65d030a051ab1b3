import {UserFacingError} from "../../src/errors/BotError.ts";
import type {ReplyFile} from "../../src/core/ReplySink.ts";
import type {EditThrottle} from "../shared/EditThrottle.ts";
import {StreamingReplySink} from "../shared/StreamingReplySink.ts";
import type {MessageSurface} from "../shared/StreamingReplySink.ts";
import type {Logger} from "../../src/core/Logger.ts";
import type {EditMessage, ReplyPayload, ReplyTarget} from "./ReplyTarget.ts";

/** Discord's limit on a message's content, in characters. */
const DISCORD_MESSAGE_LIMIT = 2000;

/** Options of a {@link DiscordReplySink}. */
export interface DiscordReplySinkOptions {
    /** The shared edit budget. */
    readonly throttle: EditThrottle;
    /** How often typing is re-sent until the first text, in ms. Discord shows it for about 10 s. Defaults to 8000. */
    readonly typingIntervalMs?: number;
    readonly log: Logger;
}

const NO_MENTIONS = {parse: []} as const satisfies ReplyPayload["allowedMentions"];

/**
 * Shows one turn's answer on Discord: typing until the first text, then one message per 2000
 * characters, edited as the text grows; a file goes with an unstreamed answer's last part or
 * after a streamed one, and a failure is appended to what was streamed. Nothing it posts can
 * ping anyone. The streaming itself is the shared {@link StreamingReplySink}'s.
 */
export class DiscordReplySink extends StreamingReplySink<EditMessage> {
    constructor(target: ReplyTarget, options: DiscordReplySinkOptions) {
        super(discordSurface(target, options.typingIntervalMs ?? 8000), options.throttle, options.log, target.resumed);
    }
}

function discordSurface(target: ReplyTarget, typingIntervalMs: number): MessageSurface<EditMessage> {
    return {
        maxLength: DISCORD_MESSAGE_LIMIT,
        trimsTrailingWhitespace: true,
        typing: () => target.typing(),
        typingIntervalMs,
        emptyReply: "(no reply)",
        post: (text, first, file) => target.post({...(text !== "" && {content: text}), ...(file !== undefined && {files: attachments(file)}), allowedMentions: NO_MENTIONS}, first),
        edit: (edit, text) => edit({content: text, allowedMentions: NO_MENTIONS}),
        filesInline: true,
        sendFile: async (file) => void (await target.post({files: attachments(file), allowedMentions: NO_MENTIONS}, false)),
        failureLine: (error) => `⚠️ ${error instanceof UserFacingError ? error.message : "Something went wrong; the details are in the bot's log."}`,
        failure: "inline",
        // A channel message is resumable by its id; an interaction's first part is its "@original" reply, which any process's first post edits anyway.
        addressOf: (edit): Record<string, string> => (edit.messageId === undefined ? {} : {resume: edit.messageId}),
    };
}

function attachments(file: ReplyFile): NonNullable<ReplyPayload["files"]> {
    return [{attachment: Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength), name: file.name}];
}
