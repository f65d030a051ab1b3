import type {Turn, TurnAttachment} from "../../src/core/Turn.ts";
import {conversationKey} from "../../src/core/Turn.ts";

/** What a console line becomes a turn with, besides its text. */
export interface ConsoleTurnContext {
    /** The conversation name: the key is `console:<name>`. */
    readonly conversation: string;
    /** The line's number in this session, for the turn id. */
    readonly lineNumber: number;
    readonly userName: string;
    readonly receivedAt: number;
    readonly signal: AbortSignal;
    /** The file a `/import FILE` line names, read by the adapter. */
    readonly attachment?: TurnAttachment;
}

/**
 * A console line as a turn: `/word args` is a command (`/reset`, `/export FILE`, `/status`);
 * anything else is chat. The console's user is the operator: an admin, with no cooldown. Null for a blank line.
 */
export function toTurn(line: string, context: ConsoleTurnContext): Turn | null {
    const text = line.trim();
    if (text === "") return null;
    const command = /^\/([a-z]+)(?:\s+([\s\S]*))?$/i.exec(text);
    return {
        id: `console:${context.lineNumber}`,
        platform: "console",
        conversation: conversationKey(`console:${context.conversation}`),
        author: {id: "console", name: context.userName, isAdmin: true, isOperator: true},
        text,
        ...(command === null ? {} : {command: {name: command[1]!.toLowerCase(), args: (command[2] ?? "").trim()}}),
        ...(context.attachment === undefined ? {} : {attachment: context.attachment}),
        receivedAt: context.receivedAt,
        signal: context.signal,
    };
}
