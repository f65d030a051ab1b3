import {conversationKey} from "../core/Turn.ts";
import type {ReplyAddress, Turn, TurnAuthor, TurnCommand} from "../core/Turn.ts";
import {BotError} from "../errors/BotError.ts";

/** A turn as it travels between processes: everything but its signal and attachment, plus its hop count. */
export interface ForwardedTurn {
    readonly turn: Omit<Turn, "signal" | "attachment"> & {readonly replyAddress: ReplyAddress};
    /** How many times it was routed to another process: a bound on ping-pong while ownership moves. */
    readonly hops: number;
}

/** Whether a turn can be answered by another process: its adapter gave it an address, and it carries no file (files are read where they arrive). */
export function canTravel(turn: Turn): turn is Turn & {readonly replyAddress: ReplyAddress} {
    return turn.replyAddress !== undefined && turn.attachment === undefined;
}

/** The stream entry's payload. */
export function encodeTurn(turn: Turn & {readonly replyAddress: ReplyAddress}, hops: number): string {
    const {id, platform, conversation, parent, platformIds, author, text, command, receivedAt, replyAddress} = turn;
    return JSON.stringify({id, platform, conversation, parent, platformIds, author, text, command, receivedAt, replyAddress, hops});
}

/** Reads an entry's payload back; a malformed one is refused (`cluster/bad_entry`), naming what is wrong. */
export function decodeTurn(payload: string, signal: AbortSignal): {turn: Turn; hops: number} {
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
        signal,
    };
    return {turn, hops: number(entry.hops, "hops")};
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
