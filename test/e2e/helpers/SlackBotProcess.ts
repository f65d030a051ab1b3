import {fork} from "node:child_process";
import type {ChildProcess} from "node:child_process";
import path from "node:path";

const childScript = path.join(import.meta.dirname, "slackBotChild.ts");

/** The bot of `slackBotChild.ts` in its own process: one member of a deployment. */
export class SlackBotProcess {
    readonly exited: Promise<void>;
    #stderr = "";

    private constructor(private readonly child: ChildProcess, readonly eventsUrl: string, stderr: () => string, exited: Promise<void>) {
        this.#stderr = stderr();
        this.exited = exited;
        this.child.stderr?.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
    }

    /** Starts a bot with `env` and resolves once it is serving; rejects with its stderr if it dies first. */
    static async start(env: Record<string, string>): Promise<SlackBotProcess> {
        const child = fork(childScript, [], {env: {...process.env, ...env}, execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "pipe", "ipc"]});
        let stderr = "";
        const collect = (chunk: Buffer) => (stderr += chunk.toString());
        child.stderr?.on("data", collect);
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        const eventsUrl = await new Promise<string>((resolve, reject) => {
            child.once("message", (message: {eventsUrl: string}) => resolve(message.eventsUrl));
            void exited.then(() => reject(new Error(`the bot exited before it was ready:\n${stderr}`)));
        });
        child.stderr?.off("data", collect);
        return new SlackBotProcess(child, eventsUrl, () => stderr, exited);
    }

    /** The process id (which `/rwkv status` names in "served by"). */
    get pid(): number | undefined {
        return this.child.pid;
    }

    /** Ends the process at once, as a crash or an OOM kill would. */
    kill(): void {
        this.child.kill("SIGKILL");
    }

    /** Graceful shutdown (what SIGTERM starts in `npm start`). */
    async stop(): Promise<void> {
        if (this.child.exitCode === null && this.child.signalCode === null) this.child.send({type: "stop"});
        await this.exited;
    }

    /** Resolves once the bot has logged `text` past position `from` of its stderr (a mark taken before the event). */
    async logged(text: string, from: number): Promise<void> {
        while (this.#stderr.indexOf(text, from) < 0) {
            if (this.child.exitCode !== null) throw new Error(`the bot exited before it logged "${text}":\n${this.#stderr}`);
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
    }

    /** What the bot wrote to stderr, for failure messages. */
    get stderr(): string {
        return this.#stderr;
    }
}
