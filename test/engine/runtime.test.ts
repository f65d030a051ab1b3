import {rmSync} from "node:fs";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it, vi} from "vitest";
import type {Adapter, TurnHandler} from "../../src/core/Adapter.ts";
import type {App} from "../../src/app/createApp.ts";
import {conversationKey} from "../../src/core/Turn.ts";
import {StoreError, UserFacingError} from "../../src/errors/BotError.ts";
import type {Turn} from "../../src/core/Turn.ts";
import {Tokenizer} from "../../src/inference/Tokenizer.ts";
import {chatFormats} from "../../src/session/chatFormats.ts";
import {loggedTokens, RecordingSink, scratchDir, send, startApp, stateOf, turnIn} from "./runtimeHelpers.ts";
import type {Outcome} from "./runtimeHelpers.ts";

const messages = [
    "hello", "how are you today?", "tell me a story about a cat", "x",
    "a somewhat longer message that needs more than one prefill chunk of thirty-two tokens to go in", "what?", "ok", "1 2 3 4 5",
];

let dir: string;
beforeAll(() => void (dir = scratchDir()));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

describe("the runtime on the tiny model (greedy)", () => {
    let app: App;
    beforeAll(async () => void (app = await startApp(dir, {ENGINE_SLOTS: "8"})));
    afterAll(() => app?.stop());

    it("gives N concurrent conversations exactly the tokens each gets alone, in fewer engine steps", async () => {
        const alone = [];
        const stepsBefore = app.scheduler.dispatcher.stats.steps;
        for (const [i, text] of messages.entries()) alone.push(await send(app, turnIn(`alone:${i}`, text)));
        const aloneSteps = app.scheduler.dispatcher.stats.steps - stepsBefore;
        const together = await Promise.all(messages.map((text, i) => send(app, turnIn(`together:${i}`, text))));
        const togetherSteps = app.scheduler.dispatcher.stats.steps - stepsBefore - aloneSteps;
        expect(together).toEqual(alone);
        expect(alone.every((outcome) => outcome.kind === "complete")).toBe(true);
        for (const i of messages.keys()) expect(await loggedTokens(app, `together:${i}`)).toEqual(await loggedTokens(app, `alone:${i}`));
        expect(togetherSteps).toBeLessThan(aloneSteps / 3);
    });

    it("rolls a cancelled turn back out of the state exactly, and logs nothing of it", async () => {
        const key = "cancel:1";
        await send(app, turnIn(key, "first message"));
        const before = await stateOf(app, key);
        const logBefore = await loggedTokens(app, key);
        const controller = new AbortController();
        const sink = new RecordingSink();
        sink.onUpdate = () => controller.abort(new Error("message deleted"));
        const outcome = await send(app, turnIn(key, "this one is deleted while it is answered", {signal: controller.signal}), sink);
        expect(sink.updates.length).toBeGreaterThan(0);
        expect(outcome).toMatchObject({kind: "fail", error: {code: "turn/aborted"}});
        expect(await stateOf(app, key)).toEqual(before);
        expect(await loggedTokens(app, key)).toEqual(logBefore);
    });

    it("resets: the turn in flight is cancelled and never written back, queued ones are answered", async () => {
        const key = "reset:1";
        await send(app, turnIn(key, "remember this"));
        const running = new RecordingSink();
        const queued = new RecordingSink();
        let reset: Promise<unknown> | undefined;
        running.onUpdate = () => void (reset ??= send(app, turnIn(key, "/reset")));
        const first = send(app, turnIn(key, "a reply that will be cut by the reset"), running);
        const second = send(app, turnIn(key, "queued behind it"), queued);
        expect(await first).toMatchObject({kind: "fail", error: {message: "(cancelled: the conversation was reset)"}});
        expect(await second).toMatchObject({kind: "fail", error: {code: "turn/aborted"}});
        expect(await reset).toEqual({kind: "complete", text: "Conversation reset."});
        expect(await loggedTokens(app, key)).toEqual([]);
        expect((await stateOf(app, key)).every((value) => value === 0)).toBe(true);
    });

    it("refuses admin commands to non-admins politely, changing nothing", async () => {
        const key = "perm:1";
        await send(app, turnIn(key, "hi"));
        const log = await loggedTokens(app, key);
        const outcome = await send(app, turnIn(key, "/reset", {isAdmin: false}));
        expect(outcome).toMatchObject({kind: "fail", error: {code: "command/forbidden", message: "Sorry, only admins can use reset here."}});
        expect(await loggedTokens(app, key)).toEqual(log);
        expect(await send(app, turnIn(key, "/status", {isAdmin: false}))).toMatchObject({kind: "complete", text: expect.stringContaining("tokens in 2 turn(s)")});
    });

    it("exports, imports into another conversation, and answers there as in the original", async () => {
        const exported = await send(app, turnIn("export:a", "/export"));
        expect(exported.kind).toBe("complete");
        await send(app, turnIn("export:a", "start"));
        const file = (await send(app, turnIn("export:a", "/export a.rwkvconv"))) as {file: {name: string, bytes: Uint8Array}};
        expect(file.file.name).toBe("a.rwkvconv");
        const imported = await send(app, {...turnIn("export:b", "/import"), attachment: {name: "a.rwkvconv", size: file.file.bytes.byteLength, read: async () => file.file.bytes}});
        expect(imported).toEqual({kind: "complete", text: "Imported a.rwkvconv: 2 turn(s)."});
        expect(await stateOf(app, "export:b")).toEqual(await stateOf(app, "export:a"));
        expect(await send(app, turnIn("export:b", "next"))).toEqual(await send(app, turnIn("export:a", "next")));
    });

    it("starts a new thread from its parent conversation's state and log", async () => {
        await send(app, turnIn("thread:parent", "first"));
        const child = await send(app, {...turnIn("thread:child", "next"), parent: conversationKey("thread:parent")});
        expect(await send(app, turnIn("thread:parent", "next"))).toEqual(child);
        expect(await loggedTokens(app, "thread:child")).toEqual(await loggedTokens(app, "thread:parent"));
    });

    it("changes settings without touching the state, the log or the epoch; the next turn uses them", async () => {
        const tokenizer = await Tokenizer.load(join(dir, "vocab.txt"));
        const [changed, control] = ["settings:changed", "settings:control"];
        for (const key of [changed, control]) await send(app, turnIn(key, "hello"));
        const state = await stateOf(app, changed);
        const log = await loggedTokens(app, changed);
        expect(await send(app, turnIn(changed, "/settings temperature=2 nonsense=1"))).toMatchObject({kind: "fail", error: {message: expect.stringContaining("unknown setting \"nonsense\"")}});
        expect(await send(app, turnIn(changed, "/settings format=seed temperature=1.5 top_p=1 seed=3"))).toMatchObject({kind: "complete", text: expect.stringContaining("format: seed")});
        expect(await send(app, turnIn(control, "/settings format=seed"))).toMatchObject({kind: "complete", text: expect.stringContaining("format: seed")});
        expect(await send(app, turnIn(changed, "/settings"))).toMatchObject({kind: "complete", text: expect.stringContaining("temperature 1.5, top_p 1")});
        expect(await epochOf(changed)).toBe(0);
        expect(await loggedTokens(app, changed)).toEqual(log);
        expect(await stateOf(app, changed)).toEqual(state);
        expect(await stateOf(app, control)).toEqual(state);

        // Same state and format: only the sampling differs (seeded, so the comparison is stable).
        expect(await send(app, turnIn(changed, "next"))).not.toEqual(await send(app, turnIn(control, "next")));
        const userTurn = {role: "user", tokens: tokenizer.encode(chatFormats.seed.userTurn("next"))};
        expect((await loggedTokens(app, changed))[2]).toEqual(userTurn);
        expect((await loggedTokens(app, control))[2]).toEqual(userTurn);
    });

    it("sets a persona by resetting to it; the history stays in its epoch, and later resets prime the persona", async () => {
        const key = "persona:1";
        const persona = "User: hi\n\nAssistant: Hello.\n\n";
        await send(app, turnIn(key, "hi"));
        const history = await loggedTokens(app, key);
        expect(await send(app, turnIn(key, "/persona User: hi\\n\\nAssistant: Hello.\\n\\n"))).toEqual({kind: "complete", text: "Persona set; conversation reset to it."});
        const primed = await stateOf(app, key);
        expect((await app.store.transcript(key)).map((turn) => [turn.epoch, turn.role, turn.text])).toEqual([[1, "system", persona]]);
        expect((await app.store.transcript(key, 0)).map(({role, tokens}) => ({role, tokens}))).toEqual(history);

        await send(app, turnIn(key, "more"));
        expect(await send(app, turnIn(key, "/reset"))).toEqual({kind: "complete", text: "Conversation reset."});
        expect((await app.store.transcript(key)).map((turn) => [turn.epoch, turn.role, turn.text])).toEqual([[2, "system", persona]]);
        expect(await stateOf(app, key)).toEqual(primed);

        expect(await send(app, turnIn(key, "/persona off"))).toEqual({kind: "complete", text: "Persona cleared; conversation reset."});
        expect(await epochOf(key)).toBe(3);
        expect(await loggedTokens(app, key)).toEqual([]);
        expect((await stateOf(app, key)).every((value) => value === 0)).toBe(true);
    });

    it("answers a turn whose restore finds the database unavailable with the database message, and the next turn normally", async () => {
        const key = "dbdown:1";
        const planRestore = app.store.planRestore.bind(app.store);
        app.store.planRestore = () => Promise.reject(new StoreError("store/unavailable", "The database is unavailable (restore of dbdown:1): Connection terminated unexpectedly"));
        try {
            const outcome = await send(app, turnIn(key, "hello"));
            expect(outcome).toEqual({kind: "fail", error: expect.any(UserFacingError)});
            expect(outcome).toMatchObject({error: {code: "store/unavailable", message: "The database is unavailable, try again."}});
        } finally {
            app.store.planRestore = planRestore;
        }
        expect(await send(app, turnIn(key, "hello"))).toMatchObject({kind: "complete"});
        expect((await loggedTokens(app, key)).map((turn) => turn.role)).toEqual(["user", "assistant"]);
    });

    /** The epoch as stored. */
    async function epochOf(key: string): Promise<number> {
        return (await app.store.openConversation(key, {platform: "console", chatFormat: "chat"})).epoch;
    }
});

describe("admission under load", () => {
    it("answers every turn past the queue with a busy reply, never silence", async () => {
        const app = await startApp(dir, {ENGINE_SLOTS: "1", QUEUE_MAX: "1"});
        try {
            const outcomes = await Promise.all(Array.from({length: 6}, (_, i) => send(app, turnIn(`load:${i}`, "hello"))));
            const busy = outcomes.filter((o) => o.kind === "fail" && o.error.code === "scheduler/overloaded");
            expect(outcomes.filter((o) => o.kind === "complete")).toHaveLength(2);
            expect(busy).toHaveLength(4);
            expect(busy[0]).toMatchObject({error: {message: expect.stringMatching(/^I'm busy right now; try again in \d+ s\.$/)}});
        } finally {
            await app.stop();
        }
    });

    it("with fewer slots than conversations, evicts and restores without changing any reply", async () => {
        const small = await startApp(dir, {ENGINE_SLOTS: "2"});
        const large = await startApp(dir, {ENGINE_SLOTS: "8"});
        try {
            for (const round of ["one", "two"]) {
                const a = await Promise.all(messages.slice(0, 6).map((text, i) => send(small, turnIn(`evict:${i}`, `${round} ${text}`))));
                const b = await Promise.all(messages.slice(0, 6).map((text, i) => send(large, turnIn(`evict:${i}`, `${round} ${text}`))));
                expect(a).toEqual(b);
            }
        } finally {
            await small.stop();
            await large.stop();
        }
    });
});

describe("checkpoints by policy", () => {
    it("checkpoints a conversation after a quiet spell, and after enough tokens", async () => {
        const app = await startApp(dir, {CHECKPOINT_QUIET_MS: "300", LEASE_MS: "1000", CHECKPOINT_EVERY_TOKENS: "60"});
        try {
            await send(app, turnIn("quiet:1", "hi"));
            expect(app.scheduler.held("quiet:1")!.dirty).toBe(true);
            // No fixed sleep: with no further turn, the quiet checkpoint comes by itself.
            await vi.waitFor(() => expect(app.scheduler.held("quiet:1")!.lastCheckpoint).toMatchObject({logSeq: 2, at: expect.any(Date)}), {timeout: 30_000, interval: 50});
            expect(app.scheduler.held("quiet:1")!.dirty).toBe(false);
            await send(app, turnIn("tokens:1", "a message long enough to pass sixty tokens together with its reply"));
            expect(app.scheduler.held("tokens:1")!.lastCheckpoint).toMatchObject({logSeq: 2});
        } finally {
            await app.stop();
        }
    });
});

/** An adapter that hands turns to the app and notes whether it was still connected when each reply ended. */
class LoopbackAdapter implements Adapter {
    readonly platform = "console";
    connected = false;
    #onTurn: TurnHandler | null = null;

    async start(onTurn: TurnHandler): Promise<void> {
        this.#onTurn = onTurn;
        this.connected = true;
    }

    async stop(): Promise<void> {
        this.connected = false;
    }

    async send(turn: Turn, sink = new RecordingSink()): Promise<{outcome: Outcome, connected: boolean}> {
        // Read as the sink settles, not once the handler returns.
        const ended = sink.outcome.then((outcome) => ({outcome, connected: this.connected}));
        await this.#onTurn!(turn, sink);
        return ended;
    }
}

describe("shutdown", () => {
    it("lets a turn in flight finish and deliver its reply before the adapters disconnect, and refuses later turns", async () => {
        const env = {BOT_DATA_DIR: join(dir, "pglite-grace"), CHECKPOINT_EVERY_TOKENS: "100000"};
        const adapter = new LoopbackAdapter();
        const first = await startApp(dir, env, {shutdownGraceMs: 60_000, adapters: () => [adapter]});
        await first.start();
        const key = "grace:1";
        await adapter.send(turnIn(key, "hello"));
        const running = new RecordingSink();
        let stopping: Promise<void> | undefined;
        let late: Promise<{outcome: Outcome}> | undefined;
        running.onUpdate = () => {
            stopping ??= first.stop();
            late ??= adapter.send(turnIn("grace:2", "too late"));
        };
        const answered = await adapter.send(turnIn(key, "answered while the bot shuts down"), running);
        await stopping;
        expect(answered).toMatchObject({outcome: {kind: "complete"}, connected: true});
        expect((await late)?.outcome).toEqual({kind: "fail", error: expect.objectContaining({code: "scheduler/shutting_down", message: "The bot is shutting down; try again in a minute."})});
        expect(adapter.connected).toBe(false);

        const second = await startApp(dir, env);
        try {
            const log = await second.store.transcript(key);
            expect(log.map((turn) => turn.role)).toEqual(["user", "assistant", "user", "assistant"]);
            expect(answered.outcome).toEqual({kind: "complete", text: log[3]!.text});
            await stateOf(second, key);
            expect(second.scheduler.held(key)!.lastCheckpoint?.logSeq).toBe(4);
            await expect(second.store.transcript("grace:2")).rejects.toMatchObject({code: "store/not_found"});
        } finally {
            await second.stop();
        }
    });

    it("aborts what runs past the grace period, checkpoints every conversation, and a restart restores each exactly", async () => {
        const dataDir = join(dir, "pglite");
        const env = {ENGINE_SLOTS: "2", BOT_DATA_DIR: dataDir, CHECKPOINT_EVERY_TOKENS: "100000", REPLY_MAX_TOKENS: "200"};
        const first = await startApp(dir, env, {shutdownGraceMs: 0});
        const keys = ["down:0", "down:1", "down:2"];
        for (const key of keys) await send(first, turnIn(key, `hello ${key}`));
        const states = new Map<string, Float32Array>();
        for (const key of keys) states.set(key, await stateOf(first, key));
        const logs = new Map<string, unknown>();
        for (const key of keys) logs.set(key, await loggedTokens(first, key));
        const cut = new RecordingSink();
        let stopping: Promise<void> | undefined;
        cut.onUpdate = () => void (stopping ??= first.stop());
        const outcome = await send(first, turnIn("down:2", "cut by the shutdown"), cut);
        await stopping;
        expect(outcome).toMatchObject({kind: "fail", error: {message: "(cancelled: the bot is shutting down)"}});

        const second = await startApp(dir, env);
        try {
            for (const key of keys) {
                expect(await stateOf(second, key)).toEqual(states.get(key));
                expect(await loggedTokens(second, key)).toEqual(logs.get(key));
                const conversation = second.scheduler.held(key)!;
                expect(conversation.lastCheckpoint?.logSeq).toBe(conversation.record.logLength);
                expect(conversation.dirty).toBe(false);
            }
        } finally {
            await second.stop();
        }
    });
});
