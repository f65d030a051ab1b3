import {conversationKey} from "../core/Turn.ts";
import type {AttachmentAddress, Platform, ReplyAddress, Turn, TurnAttachment, TurnAuthor, TurnCommand} from "../core/Turn.ts";
import {BotError, UserFacingError} from "../errors/BotError.ts";

/** An attachment as it travels: what the receiving process's adapter needs to fetch it again. */
export interface ForwardedAttachment {
    readonly name: string;
    readonly size: number;
    readonly address: AttachmentAddress;
}

/** A turn as it travels between processes: everything but its signal, its attachment by address, plus its hop count. */
export interface ForwardedTurn {
    readonly turn: Omit<Turn, "signal" | "attachment"> & {readonly replyAddress: ReplyAddress; readonly attachment?: ForwardedAttachment};
    /** How many times it was routed to another process: a bound on ping-pong while ownership moves. */
    readonly hops: number;
}

/** Makes a forwarded attachment readable in this process (its platform's adapter), or null when none here can. */
export type AttachmentResolver = (platform: Platform, file: ForwardedAttachment, signal: AbortSignal) => TurnAttachment | null;

/** Whether a turn can be answered by another process: its adapter gave it an address, and a file it carries has one too. */
export function canTravel(turn: Turn): turn is Turn & {readonly replyAddress: ReplyAddress} {
    return turn.replyAddress !== undefined && (turn.attachment === undefined || turn.attachment.address !== undefined);
}

/** The stream entry's payload. */
export function encodeTurn(turn: Turn & {readonly replyAddress: ReplyAddress}, hops: number): string {
    const {id, platform, conversation, parent, platformIds, author, text, command, receivedAt, replyAddress} = turn;
    const file = turn.attachment;
    const attachment: ForwardedAttachment | undefined = file?.address === undefined ? undefined : {name: file.name, size: file.size, address: file.address};
    return JSON.stringify({id, platform, conversation, parent, platformIds, author, text, command, receivedAt, replyAddress, attachment, hops});
}

/**
 * Reads an entry's payload back; a malformed one is refused (`cluster/bad_entry`), naming what is
 * wrong. An attachment is made readable by `attach`; one no adapter here can read refuses to be read.
 */
export function decodeTurn(payload: string, signal: AbortSignal, attach: AttachmentResolver = () => null): {turn: Turn; hops: number} {
    let value: unknown;
    try {
        value = JSON.parse(payload);
    } catch (error) {
        throw new BotError("cluster/bad_entry", "a forwarded turn is not JSON", {cause: error});
    }
    const entry = record(value, "the entry");
    const author = record(entry.author, "author");
    const command = entry.command === undefined ? undefined : record(entry.command, "command");
    const parent = optionalString(entry.parent, "parent");
    const platformIds = entry.platformIds === undefined ? undefined : strings(entry.platformIds, "platformIds");
    const file = entry.attachment === undefined ? undefined : record(entry.attachment, "attachment");
    let attachment: TurnAttachment | undefined;
    if (file !== undefined) {
        const forwarded = {name: string(file.name, "attachment.name"), size: number(file.size, "attachment.size"), address: strings(file.address, "attachment.address")};
        attachment = attach(string(entry.platform, "platform"), forwarded, signal) ?? unreadable(forwarded);
    }
    const turn: Turn = {
        id: string(entry.id, "id"), platform: string(entry.platform, "platform"),
        conversation: conversationKey(string(entry.conversation, "conversation")),
        ...(parent === undefined ? {} : {parent: conversationKey(parent)}),
        ...(platformIds === undefined ? {} : {platformIds}),
        author: {
            id: string(author.id, "author.id"), name: string(author.name, "author.name"), isAdmin: author.isAdmin === true,
            ...(author.isOperator === true ? {isOperator: true} : {}),
        } satisfies TurnAuthor,
        text: string(entry.text, "text"),
        ...(command === undefined ? {} : {command: {name: string(command.name, "command.name"), args: string(command.args, "command.args")} satisfies TurnCommand}),
        receivedAt: number(entry.receivedAt, "receivedAt"),
        replyAddress: strings(entry.replyAddress, "replyAddress"),
        ...(attachment === undefined ? {} : {attachment}),
        signal,
    };
    return {turn, hops: number(entry.hops, "hops")};
}

// A file no adapter of this process can fetch: the turn is still answered, and a command reading the file says why it cannot.
function unreadable(file: ForwardedAttachment): TurnAttachment {
    return {
        name: file.name, size: file.size, address: file.address,
        read: () => Promise.reject(new UserFacingError("cluster/attachment_unreadable", "The instance serving this conversation cannot fetch that file; try again later.")),
    };
}

function bad(what: string): BotError {
    return new BotError("cluster/bad_entry", `a forwarded turn has a bad ${what}`);
}

function record(value: unknown, what: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(what);
    return value as Record<string, unknown>;
}

function string(value: unknown, what: string): string {
    if (typeof value !== "string") throw bad(what);
    return value;
}

function optionalString(value: unknown, what: string): string | undefined {
    return value === undefined ? undefined : string(value, what);
}

function number(value: unknown, what: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) throw bad(what);
    return value;
}

function strings(value: unknown, what: string): Record<string, string> {
    const entries = Object.entries(record(value, what));
    if (entries.some(([, v]) => typeof v !== "string")) throw bad(what);
    return Object.fromEntries(entries) as Record<string, string>;
}
