import {fork} from "node:child_process";
import type {ChildProcess} from "node:child_process";
import path from "node:path";
import type {ChildEvent, ParentCommand} from "./ipcProtocol.ts";

const childScript = path.join(import.meta.dirname, "ipcAppChild.ts");

/** A reply as the test adapter reported it. */
export type TurnOutcome = {readonly kind: "complete" | "fail"; readonly text: string} | {readonly kind: "died"};

/** The bot of `ipcAppChild.ts` in its own process, driven turn by turn over IPC. */
export class BotProcess {
    /** Called on every sink call the bot reports (before the turn it belongs to is resolved). */
    onEvent: (event: ChildEvent) => void = () => {};
    readonly #child: ChildProcess;
    readonly #waiting = new Map<string, (outcome: TurnOutcome) => void>();
    readonly #transcripts = new Map<string, (turns: readonly {role: string; text: string}[]) => void>();
    readonly exited: Promise<void>;
    #stderr = "";
    #alive = true;

    private constructor(env: Record<string, string>) {
        this.#child = fork(childScript, [], {env: {...process.env, ...env}, execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "pipe", "ipc"]});
        this.#child.stderr?.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
        this.#child.on("message", (event: ChildEvent) => {
            this.onEvent(event);
            if (event.type === "complete" || event.type === "fail") this.#settle(event.id, {kind: event.type, text: event.text});
            else if (event.type === "transcript") this.#transcripts.get(event.conversation)?.(event.turns);
        });
        this.exited = new Promise((resolve) => this.#child.on("exit", () => {
            this.#alive = false;
            for (const id of [...this.#waiting.keys()]) this.#settle(id, {kind: "died"});
            resolve();
        }));
    }

    /** Starts a bot with `env` and resolves once it is serving; rejects with its stderr if it dies first. */
    static async start(env: Record<string, string>): Promise<BotProcess> {
        const bot = new BotProcess(env);
        await new Promise<void>((resolve, reject) => {
            bot.onEvent = (event) => event.type === "ready" && resolve();
            void bot.exited.then(() => reject(new Error(`the bot exited before it was ready:\n${bot.#stderr}`)));
        });
        bot.onEvent = () => {};
        return bot;
    }

    get alive(): boolean {
        return this.#alive;
    }

    /** Sends one chat turn; resolves to its outcome, or `died` when the process ends first. */
    ask(id: string, conversation: string, text: string): Promise<TurnOutcome> {
        if (!this.#alive) return Promise.resolve({kind: "died"});
        const outcome = new Promise<TurnOutcome>((resolve) => this.#waiting.set(id, resolve));
        this.#send({type: "turn", id, conversation, text});
        return outcome;
    }

    /** The conversation's logged turns, as the bot's store reads them. */
    transcript(conversation: string): Promise<readonly {role: string; text: string}[]> {
        const turns = new Promise<readonly {role: string; text: string}[]>((resolve) => this.#transcripts.set(conversation, resolve));
        this.#send({type: "transcript", conversation});
        return turns;
    }

    kill(): void {
        this.#child.kill("SIGKILL");
    }

    /** Graceful shutdown, as at the end of a run. */
    async stop(): Promise<void> {
        this.#send({type: "stop"});
        await this.exited;
    }

    /** What the bot wrote to stderr, for failure messages. */
    get stderr(): string {
        return this.#stderr;
    }

    #send(command: ParentCommand): void {
        this.#child.send(command);
    }

    #settle(id: string, outcome: TurnOutcome): void {
        const resolve = this.#waiting.get(id);
        this.#waiting.delete(id);
        resolve?.(outcome);
    }
}
