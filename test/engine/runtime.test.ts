import {rmSync} from "node:fs";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import {conversationKey} from "../../src/app/Turn.ts";
import {loggedTokens, RecordingSink, scratchDir, send, startApp, stateOf, turnIn} from "./runtimeHelpers.ts";

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
        const imported = await send(app, {...turnIn("export:b", "/import"), attachment: {name: "a.rwkvconv", bytes: file.file.bytes}});
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

    it("changes settings and persona per conversation", async () => {
        const key = "settings:1";
        expect(await send(app, turnIn(key, "/settings temperature=2 nonsense=1"))).toMatchObject({kind: "fail", error: {message: expect.stringContaining("unknown setting \"nonsense\"")}});
        expect(await send(app, turnIn(key, "/settings format=seed top_p=0.5"))).toMatchObject({kind: "complete", text: expect.stringContaining("format: seed")});
        await send(app, turnIn(key, "/persona User: hi\\n\\nAssistant: Hello.\\n\\n"));
        const log = await loggedTokens(app, key);
        expect(log.map((turn) => turn.role)).toEqual(["system"]);
        const settingsReply = await send(app, turnIn(key, "/settings"));
        expect(settingsReply).toMatchObject({kind: "complete", text: expect.stringContaining("top_p 0.5")});
    });
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
            await new Promise((resolve) => setTimeout(resolve, 1200));
            expect(app.scheduler.held("quiet:1")!.lastCheckpoint).toMatchObject({logSeq: 2, at: expect.any(Date)});
            expect(app.scheduler.held("quiet:1")!.dirty).toBe(false);
            await send(app, turnIn("tokens:1", "a message long enough to pass sixty tokens together with its reply"));
            expect(app.scheduler.held("tokens:1")!.lastCheckpoint).toMatchObject({logSeq: 2});
        } finally {
            await app.stop();
        }
    });
});

describe("shutdown", () => {
    it("aborts what runs, checkpoints every conversation, and a restart restores each exactly", async () => {
        const dataDir = join(dir, "pglite");
        const env = {ENGINE_SLOTS: "2", BOT_DATA_DIR: dataDir, CHECKPOINT_EVERY_TOKENS: "100000", REPLY_MAX_TOKENS: "200"};
        const first = await startApp(dir, env, 0);
        const keys = ["down:0", "down:1", "down:2"];
        for (const key of keys) await send(first, turnIn(key, `hello ${key}`));
        const states = new Map<string, Float32Array>();
        for (const key of keys) states.set(key, await stateOf(first, key));
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
                const conversation = second.scheduler.held(key)!;
                expect(conversation.lastCheckpoint?.logSeq).toBe(conversation.record.logLength);
                expect(conversation.dirty).toBe(false);
            }
        } finally {
            await second.stop();
        }
    });
});
