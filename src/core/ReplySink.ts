import type {BotError} from "../errors/BotError.ts";
import type {ReplyAddress} from "./Turn.ts";

/** A file the bot posts (e.g. an exported state). */
export interface ReplyFile {
    readonly name: string;
    readonly bytes: Uint8Array;
}

/**
 * Where the core writes its answer to one turn; implemented by each adapter. The adapter owns
 * presentation: typing indicators, throttled edits, splitting long text, platform limits.
 * Every method may be called at most as described; none of them throws (an adapter logs its
 * own delivery failures).
 */
export interface ReplySink {
    /** The bot is working on it (typing indicator); may be called repeatedly. */
    typing(): Promise<void>;
    /** The reply so far (the whole text, not a delta); the sink throttles its own edits. */
    update(textSoFar: string): Promise<void>;
    /** The final reply text, optionally with a file; called once, ends the turn. */
    complete(text: string, file?: ReplyFile): Promise<void>;
    /**
     * The turn failed; called once instead of complete(). Show the message of a
     * `UserFacingError` as is, and a short generic line for anything else.
     */
    fail(error: BotError): Promise<void>;
    /**
     * Calls `listener` once the reply's first message is posted (at once if it is already), with
     * what identifies that message as reply-address fields (Slack: `resume`, its `ts`): the same
     * platform's `Adapter.replySink` given the turn's address plus these finishes this reply in
     * place, from another process, instead of posting a second one. Absent: a reply is never resumed.
     */
    onPosted?(listener: (at: ReplyAddress) => void): void;
}
