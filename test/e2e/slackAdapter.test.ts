import {afterAll, beforeAll, beforeEach, describe, expect, it} from "vitest";
import {LogLevel} from "@slack/bolt";
import {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import type {SlackConfig} from "../../adapters/slack/slackConfig.ts";
import type {TurnHandler} from "../../src/core/Adapter.ts";
import type {ReplySink} from "../../src/core/ReplySink.ts";
import type {Turn} from "../../src/core/Turn.ts";
import {UserFacingError} from "../../src/errors/BotError.ts";
import {EditThrottle} from "../../adapters/shared/EditThrottle.ts";
import {appMentionEnvelope, FakeSlack, signedPost, slashCommandFields} from "./fakes/FakeSlack.ts";
import {silentLog} from "../helpers/testLoggers.ts";

// The real Bolt (HTTP receiver, WebClient) against a loopback Slack; the core is a scripted
// TurnHandler, so this file proves the adapter alone.
const secret = "test-signing-secret";
const editIntervalMs = 250;

let fake: FakeSlack;
let adapter: SlackAdapter;
let eventsUrl: string;
let handler: (turn: Turn, sink: ReplySink) => Promise<void>;
const turns: Turn[] = [];

beforeAll(async () => {
    fake = await FakeSlack.start();
    fake.users.set("UALICE", {name: "alice"});
    fake.users.set("UADMIN", {name: "boss", isAdmin: true});
    const config: SlackConfig = {
        botToken: "xoxb-test", mode: {kind: "http", signingSecret: secret, port: 0, host: "127.0.0.1"},
        apiUrl: fake.apiUrl, adminUserIds: new Set(["UALLOWED"]), command: "/rwkv", botUserId: "UBOT", botId: "BBOT",
    };
    adapter = new SlackAdapter({
        config, boltLogLevel: LogLevel.ERROR, throttle: new EditThrottle({minIntervalMs: editIntervalMs, globalEditsPerSecond: 50}),
        logger: silentLog,
    });
    const onTurn: TurnHandler = async (turn, sink) => {
        turns.push(turn);
        await handler(turn, sink);
    };
    await adapter.start(onTurn);
    eventsUrl = `http://127.0.0.1:${adapter.port}/slack/events`;
});

afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
});

beforeEach(() => {
    turns.length = 0;
    handler = async (turn, sink) => sink.complete(`echo: ${turn.text}`);
});

const postEvent = (body: Record<string, unknown>, options: {retryNum?: number; badSignature?: boolean; ageSec?: number} = {}) =>
    signedPost(eventsUrl, JSON.stringify(body), {secret, contentType: "application/json", ...options});
const postCommand = (fields: Record<string, string>, options: {badSignature?: boolean; ageSec?: number} = {}) =>
    signedPost(eventsUrl, new URLSearchParams(fields).toString(), {secret, contentType: "application/x-www-form-urlencoded", ...options});

/**
 * "Nothing else happened" without sleeping: a marker mention sent after the events under test
 * is answered only after they were handled (one receiver, handled in arrival order), so once its
 * answer is in, every turn the earlier events could have started is in `turns`.
 */
async function afterMarker(ts: string): Promise<void> {
    await postEvent(appMentionEnvelope({eventId: `EvMarker${ts}`, text: "<@UBOT> marker", ts}));
    await fake.waitFor(() => fake.thread("C1", ts).find((message) => message.text === "echo: marker"));
    const marker = turns.findIndex((turn) => turn.id === `EvMarker${ts}`);
    expect(marker).toBeGreaterThanOrEqual(0);
    turns.splice(marker, 1);
}

describe("SlackAdapter over HTTP against a fake Slack", () => {
    it("streams a mention's answer into its thread: placeholder, coalesced edits, final text", async () => {
        // Ordered, not timed: the first text is shown before the rest is produced, the rest comes
        // in faster than one edit interval and is coalesced (EditThrottle's unit test times the interval).
        const words = Array.from({length: 20}, (_, i) => `word${i} `);
        handler = async (_turn, sink) => {
            await sink.typing();
            await sink.update(words[0] as string);
            await fake.waitFor(() => fake.callsOf("chat.update").some((call) => call.args.text === words[0]));
            for (let i = 2; i <= words.length; i += 1) await sink.update(words.slice(0, i).join(""));
            await sink.complete(`${words.join("")}<!channel> & done`);
        };
        const response = await postEvent(appMentionEnvelope({eventId: "Ev1", text: "<@UBOT> hello   there", ts: "100.000001"}));
        expect(response.status).toBe(200);
        const [message] = await fake.waitFor(() => {
            const thread = fake.thread("C1", "100.000001");
            return thread[0]?.text.endsWith("done") === true ? thread : undefined;
        });
        const final = `${words.join("")}&lt;!channel&gt; &amp; done`;
        expect(message?.text).toBe(final);
        expect(turns[0]).toMatchObject({
            id: "Ev1", platform: "slack", conversation: "slack:T1:C1", text: "hello there",
            author: {id: "UALICE", name: "alice", isAdmin: false}, platformIds: {team: "T1", channel: "C1"},
        });
        expect(turns[0]?.parent).toBeUndefined();
        const posts = fake.callsOf("chat.postMessage");
        expect(posts).toHaveLength(1);
        expect(posts[0]?.args).toMatchObject({channel: "C1", thread_ts: "100.000001", text: "_…thinking_"});
        const edits = fake.callsOf("chat.update").map((call) => String(call.args.text));
        expect(edits[0]).toBe(words[0]);
        expect(edits.at(-1)).toBe(final);
        // Each edit shows more of the same answer, and the 19 quick updates became at most two edits.
        for (let i = 1; i < edits.length - 1; i += 1) expect(final.startsWith(edits[i] as string) && (edits[i] as string).length > (edits[i - 1] as string).length).toBe(true);
        expect(edits.length).toBeLessThanOrEqual(3);
    });

    it("keeps a typed @channel in the model's text inert when the placeholder is edited into the answer", async () => {
        handler = async (_turn, sink) => {
            await sink.typing();
            await sink.complete("hey @channel and @here");
        };
        await postEvent(appMentionEnvelope({eventId: "Ev1b", text: "<@UBOT> ping", ts: "100.000002"}));
        const [message] = await fake.waitFor(() => {
            const thread = fake.thread("C1", "100.000002");
            return thread[0]?.text.startsWith("hey") === true ? thread : undefined;
        });
        expect(message?.text).toBe("hey @channel and @here");
    });

    it("keys a mention inside a thread by the thread, with the channel as parent", async () => {
        await postEvent(appMentionEnvelope({eventId: "Ev2", text: "<@UBOT> in a thread", ts: "101.000002", threadTs: "100.000001"}));
        await fake.waitFor(() => fake.thread("C1", "100.000001").find((message) => message.text === "echo: in a thread"));
        expect(turns[0]).toMatchObject({conversation: "slack:T1:C1:100.000001", parent: "slack:T1:C1"});
    });

    it("splits a long answer near 3,500 characters into follow-up messages in the thread", async () => {
        const paragraph = `${"lorem ipsum ".repeat(60).trim()}\n\n`;
        const answer = paragraph.repeat(12);
        handler = async (_turn, sink) => {
            await sink.update(answer.slice(0, 5000));
            await sink.complete(answer);
        };
        await postEvent(appMentionEnvelope({eventId: "Ev3", text: "<@UBOT> long", ts: "102.000001"}));
        const thread = await fake.waitFor(() => {
            const messages = fake.thread("C1", "102.000001");
            return messages.map((message) => message.text).join("") === answer ? messages : undefined;
        });
        expect(thread.length).toBe(3);
        for (const message of thread) {
            expect(message.text.length).toBeLessThanOrEqual(3500);
            expect(message.text.length).toBeGreaterThan(2800);
            expect(message.text.endsWith("\n\n")).toBe(true);
        }
    });

    it("keeps every part of an answer dense with <, > and & under Slack's limit once escaped", async () => {
        const answer = "<p>a & b</p>\n".repeat(600);
        handler = async (_turn, sink) => sink.complete(answer);
        await postEvent(appMentionEnvelope({eventId: "Ev3b", text: "<@UBOT> html", ts: "102.000002"}));
        const thread = await fake.waitFor(() => {
            const messages = fake.thread("C1", "102.000002");
            const shown = messages.map((message) => message.text).join("").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
            return shown === answer ? messages : undefined;
        });
        for (const message of thread) expect(message.text.length).toBeLessThanOrEqual(3500);
    });

    it("acknowledges a signed slash command before the work is done, then answers", async () => {
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let finished = false;
        handler = async (turn, sink) => {
            await released;
            await sink.complete(`answer to ${turn.text}`);
            finished = true;
        };
        // Slack's 3 s deadline, as an order: the acknowledgement arrives while the turn is held
        // (an adapter that acknowledged after the work would never answer this request).
        const response = await postCommand(slashCommandFields({text: "ask what is rwkv", responseUrl: fake.responseUrl("r1")}));
        expect(response.status).toBe(200);
        await fake.waitFor(() => turns.length === 1);
        expect(finished).toBe(false);
        expect(turns[0]).toMatchObject({conversation: "slack:T1:C1", text: "what is rwkv"});
        expect(turns[0]?.command).toBeUndefined();
        release();
        await fake.waitFor(() => fake.thread("C1", undefined).find((message) => message.text === "answer to what is rwkv"));
    });

    it("passes admin sub-commands parsed, and answers a refusal privately", async () => {
        handler = async (turn, sink) => {
            if (!turn.author.isAdmin) return sink.fail(new UserFacingError("app/not_admin", "Only workspace admins can reset."));
            await sink.complete("State reset.");
        };
        await postCommand(slashCommandFields({text: "reset", responseUrl: fake.responseUrl("r2")}));
        const refusal = await fake.waitFor(() => fake.responses.find((response) => response.id === "r2"));
        expect(refusal.body).toMatchObject({response_type: "ephemeral", text: ":warning: Only workspace admins can reset."});
        expect(turns[0]?.command).toEqual({name: "reset", args: ""});

        await postCommand(slashCommandFields({text: "reset now", user: "UADMIN", responseUrl: fake.responseUrl("r3")}));
        await fake.waitFor(() => fake.thread("C1", undefined).find((message) => message.text === "State reset."));
        expect(turns[1]).toMatchObject({author: {id: "UADMIN", name: "boss", isAdmin: true}, command: {name: "reset", args: "now"}});

        await postCommand(slashCommandFields({text: "status", user: "UALLOWED", responseUrl: fake.responseUrl("r4")}));
        await fake.waitFor(() => turns.length === 3);
        expect(turns[2]?.author.isAdmin).toBe(true);
    });

    it("refuses a bad signature and a stale timestamp with 401, and runs nothing", async () => {
        const mention = appMentionEnvelope({eventId: "Ev4", text: "<@UBOT> sneaky", ts: "103.000001"});
        expect((await postEvent(mention, {badSignature: true})).status).toBe(401);
        expect((await postEvent(mention, {ageSec: 600})).status).toBe(401);
        const command = slashCommandFields({text: "reset", user: "UADMIN", responseUrl: fake.responseUrl("r5")});
        expect((await postCommand(command, {badSignature: true})).status).toBe(401);
        expect((await postCommand(command, {ageSec: 600})).status).toBe(401);
        await afterMarker("103.000009");
        expect(turns).toHaveLength(0);
        expect(fake.thread("C1", "103.000001")).toHaveLength(0);
    });

    it("runs a redelivered event (x-slack-retry-num) once", async () => {
        const mention = appMentionEnvelope({eventId: "Ev5", text: "<@UBOT> once", ts: "104.000001"});
        expect((await postEvent(mention)).status).toBe(200);
        expect((await postEvent(mention, {retryNum: 1})).status).toBe(200);
        expect((await postEvent(mention, {retryNum: 2})).status).toBe(200);
        await fake.waitFor(() => fake.thread("C1", "104.000001").find((message) => message.text === "echo: once"));
        await afterMarker("104.000009");
        expect(turns).toHaveLength(1);
        expect(fake.thread("C1", "104.000001")).toHaveLength(1);
    });

    it("ignores the bot's own messages and edits", async () => {
        const own = appMentionEnvelope({eventId: "Ev6", text: "<@UBOT> me", ts: "105.000001", user: "UBOT"});
        await postEvent(own);
        const edited = appMentionEnvelope({eventId: "Ev7", text: "<@UBOT> edited", ts: "105.000002"});
        (edited.event as Record<string, unknown>).edited = {user: "UALICE", ts: "105.000003"};
        await postEvent(edited);
        await afterMarker("105.000009");
        expect(turns).toHaveLength(0);
    });

    it("absorbs 429s from Slack without losing the reply", async () => {
        fake.injectRateLimit("chat.postMessage", 1, 1);
        fake.injectRateLimit("chat.update", 1, 1);
        handler = async (_turn, sink) => {
            await sink.typing();
            await sink.update("partial");
            await sink.complete("the whole answer");
        };
        await postEvent(appMentionEnvelope({eventId: "Ev8", text: "<@UBOT> busy", ts: "106.000001"}));
        await fake.waitFor(() => fake.thread("C1", "106.000001")[0]?.text === "the whole answer", 8000);
        expect(fake.thread("C1", "106.000001")).toHaveLength(1);
        expect(fake.callsOf("chat.postMessage").filter((call) => call.args.thread_ts === "106.000001")).toHaveLength(2);
    });

    it("uploads an export into the thread with its bytes intact, and hands an attached file to import", async () => {
        const state = new Uint8Array(new Float32Array([1.5, -2.25, Math.PI, 0]).buffer);
        handler = async (turn, sink) => {
            if (turn.attachment !== undefined) return sink.complete(`got ${turn.attachment.name} (${(await turn.attachment.read()).length} bytes)`);
            await sink.complete("Here is the state.", {name: "state.rwkvstate", bytes: state});
        };
        await postEvent(appMentionEnvelope({eventId: "Ev9", text: "<@UBOT> export", ts: "107.000001", user: "UADMIN"}));
        const upload = await fake.waitFor(() => fake.uploads.find((candidate) => candidate.filename === "state.rwkvstate" && candidate.channel !== undefined));
        expect(upload).toMatchObject({channel: "C1", threadTs: "107.000001"});
        expect(upload.bytes).toEqual(state);

        const url = fake.hostFile("state.rwkvstate", upload.bytes as Uint8Array);
        await postEvent(appMentionEnvelope({
            eventId: "Ev10", text: "<@UBOT> import", ts: "108.000001", user: "UADMIN", files: [{name: "state.rwkvstate", url, size: state.length}],
        }));
        await fake.waitFor(() => fake.thread("C1", "108.000001").find((message) => message.text === "got state.rwkvstate (16 bytes)"));
        expect(await turns[1]?.attachment?.read()).toEqual(state);
        expect(turns[1]?.text).toBe("import");
    });

    it("downloads an attached file only when the core reads it, and refuses one larger than it claimed", async () => {
        const adapterWithLimit = new SlackAdapter({
            config: {botToken: "xoxb-test", mode: {kind: "http", signingSecret: secret, port: 0, host: "127.0.0.1"}, apiUrl: fake.apiUrl,
                adminUserIds: new Set(), command: "/rwkv", botUserId: "UBOT", botId: "BBOT"},
            boltLogLevel: LogLevel.ERROR, maxAttachmentBytes: 1024 * 1024, logger: silentLog,
        });
        const seen: Turn[] = [];
        await adapterWithLimit.start(async (turn, sink) => {
            seen.push(turn);
            if (turn.text === "read") await turn.attachment?.read();
            await sink.complete(`done ${turn.text}`);
        });
        try {
            const url = `http://127.0.0.1:${adapterWithLimit.port}/slack/events`;
            const post = (body: Record<string, unknown>) => signedPost(url, JSON.stringify(body), {secret, contentType: "application/json"});
            const file = fake.hostFile("big.bin", new Uint8Array(2 * 1024 * 1024));
            const downloads = fake.downloads;
            await post(appMentionEnvelope({eventId: "EvLazy1", text: "<@UBOT> chat", ts: "120.000001", user: "UALICE", files: [{name: "big.bin", url: file, size: 4096}]}));
            await fake.waitFor(() => fake.thread("C1", "120.000001").find((message) => message.text === "done chat"));
            expect(seen[0]?.attachment).toMatchObject({name: "big.bin", size: 4096});
            expect(fake.downloads).toBe(downloads);

            await post(appMentionEnvelope({eventId: "EvLazy2", text: "<@UBOT> read", ts: "120.000002", user: "UADMIN", files: [{name: "big.bin", url: file, size: 100}]}));
            const [refusal] = await fake.waitFor(() => {
                const thread = fake.thread("C1", "120.000002");
                return thread[0]?.text.includes("too large") === true ? thread : undefined;
            });
            expect(refusal?.text).toContain("That file is too large (max 1 MB).");
        } finally {
            await adapterWithLimit.stop();
        }
    });

    it("does not take a Slack Connect guest's admin role in their own workspace for one here", async () => {
        fake.users.set("UGUEST", {name: "guest", isAdmin: true, isOwner: true, team: "T9"});
        await postEvent(appMentionEnvelope({eventId: "EvGuest", text: "<@UBOT> hi", ts: "121.000001", user: "UGUEST"}));
        await fake.waitFor(() => fake.thread("C1", "121.000001").find((message) => message.text === "echo: hi"));
        expect(turns[0]?.author).toEqual({id: "UGUEST", name: "guest", isAdmin: false});
    });

    it("answers a failed turn visibly and briefly", async () => {
        handler = async () => {
            throw new Error("database exploded with password=hunter2");
        };
        await postEvent(appMentionEnvelope({eventId: "Ev11", text: "<@UBOT> boom", ts: "109.000001"}));
        const [message] = await fake.waitFor(() => {
            const thread = fake.thread("C1", "109.000001");
            return thread.length > 0 ? thread : undefined;
        });
        expect(message?.text).toBe(":warning: Sorry, something went wrong (internal/unexpected).");
    });
});
