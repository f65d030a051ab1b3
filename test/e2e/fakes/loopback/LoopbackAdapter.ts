import type {Adapter, TurnHandler} from "../../../../src/core/Adapter.ts";
import type {ReplyFile, ReplySink} from "../../../../src/core/ReplySink.ts";
import {conversationKey} from "../../../../src/core/Turn.ts";
import type {BotError} from "../../../../src/errors/BotError.ts";
import type {LoopbackConfig} from "./loopbackConfig.ts";

/** How a loopback reply ended. */
export type LoopbackReply = {readonly kind: "complete", readonly text: string, readonly updates: readonly string[]} | {readonly kind: "fail", readonly error: BotError};

/**
 * A platform with no network: `say()` is a user's message, and resolves to the bot's answer.
 * It is what a new adapter's folder holds at the least (see docs/adding-an-adapter.md).
 */
export class LoopbackAdapter implements Adapter {
    readonly platform = "loopback";
    readonly #config: LoopbackConfig;
    #onTurn: TurnHandler | null = null;
    #sent = 0;

    constructor(config: LoopbackConfig) {
        this.#config = config;
    }

    get connected(): boolean {
        return this.#onTurn !== null;
    }

    async start(onTurn: TurnHandler): Promise<void> {
        this.#onTurn = onTurn;
    }

    async stop(): Promise<void> {
        this.#onTurn = null;
    }

    /** Delivers `text` as a message of `user` in the configured conversation; resolves once answered. */
    async say(text: string, user = "tester"): Promise<LoopbackReply> {
        if (this.#onTurn === null) throw new Error("the loopback adapter is not started");
        this.#sent++;
        const updates: string[] = [];
        let reply: LoopbackReply | null = null;
        const sink: ReplySink = {
            typing: async () => undefined,
            update: async (textSoFar) => void updates.push(textSoFar),
            complete: async (final: string, _file?: ReplyFile) => void (reply ??= {kind: "complete", text: final, updates}),
            fail: async (error) => void (reply ??= {kind: "fail", error}),
        };
        await this.#onTurn({
            id: `loopback:${this.#sent}`, platform: this.platform, conversation: conversationKey(`loopback:${this.#config.conversation}`),
            author: {id: user, name: user, isAdmin: false}, text, receivedAt: Date.now(), signal: new AbortController().signal,
        }, sink);
        if (reply === null) throw new Error("the turn ended without complete() or fail()");
        return reply;
    }
}
