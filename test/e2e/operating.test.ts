import {randomBytes} from "node:crypto";
import {rmSync} from "node:fs";
import {Readable} from "node:stream";
import {getMetricsFromStream} from "prom2javascript";
import type {PromHistogramData, PromMetrics} from "prom2javascript";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import type {App} from "../../src/app/createApp.ts";
import type {ServedOps} from "../../src/app/serveOps.ts";
import {jsonLog} from "../helpers/testLoggers.ts";
import {CuttableRelay} from "../store/helpers/CuttableRelay.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import type {FakeDiscord} from "./fakes/FakeDiscord.ts";
import {guildMessage, ids, users} from "./fakes/discordPayloads.ts";
import {startFakeDiscord} from "./fakes/discordHarness.ts";
import type {FakeSlack} from "./fakes/FakeSlack.ts";
import {appMentionEnvelope, signedPost} from "./fakes/FakeSlack.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";
import {startSlackTeam} from "./helpers/slackTeam.ts";

// The bot as `npm start` composes it, on Discord and Slack at once, with METRICS_PORT on, a
// Postgres database reached through a relay the test can cut, and the real pino logger writing
// JSON lines (at trace level) into memory. Every secret is configured, and random, so that the
// log can be searched for it at the end of the run.
const secrets = {
    discordToken: `discord-${randomBytes(12).toString("hex")}`,
    slackBotToken: `xoxb-${randomBytes(12).toString("hex")}`,
    signingSecret: `signing-${randomBytes(12).toString("hex")}`,
    databasePassword: `pw-${randomBytes(12).toString("hex")}`,
};
// What users write: never in the log at info level or above.
const messageTexts = [`hello ops ${randomBytes(4).toString("hex")}`, `again ${randomBytes(4).toString("hex")}`, `slack says ${randomBytes(4).toString("hex")}`];

const log = jsonLog("trace");
const observer = new TurnObserver();
let discord: FakeDiscord;
let slack: FakeSlack;
let relay: CuttableRelay;
let dropDatabase: () => Promise<void>;
let dir: string;
let app: App;
let ops: ServedOps;
let eventsUrl = "";

beforeAll(async () => {
    const database = await createThrowawayDatabase();
    dropDatabase = database.drop;
    const through = await CuttableRelay.to(database.url);
    relay = through.relay;
    const url = new URL(through.url);
    url.password = secrets.databasePassword; // trust authentication: accepted, and now a secret to keep
    dir = tinyBotDir("rwkv-ops-e2e-");
    discord = await startFakeDiscord({token: secrets.discordToken});
    slack = await startSlackTeam();
    const started = await startObservedApp({
        ...tinyBotEnv(dir), DATABASE_URL: url.toString(),
        // Long enough that a user's second message in this run is refused by the cooldown.
        USER_COOLDOWN_MS: "600000",
        METRICS_PORT: "0", METRICS_HOST: "127.0.0.1",
        DISCORD_TOKEN: secrets.discordToken, DISCORD_API_URL: discord.apiBase, DISCORD_GUILD_ID: ids.guild,
        SLACK_BOT_TOKEN: secrets.slackBotToken, SLACK_SIGNING_SECRET: secrets.signingSecret, SLACK_PORT: "0", SLACK_HOST: "127.0.0.1",
        SLACK_API_URL: slack.apiUrl, SLACK_BOT_USER_ID: "UBOT", SLACK_BOT_ID: "BBOT",
    }, observer, log.log);
    app = started.app;
    if (started.ops === null) throw new Error("METRICS_PORT is set: the ops endpoint should be up");
    ops = started.ops;
    const slackAdapter = started.adapters.find((adapter) => adapter.platform === "slack") as SlackAdapter;
    eventsUrl = `http://127.0.0.1:${slackAdapter.port}/slack/events`;
});

afterAll(async () => {
    await app?.stop();
    await ops?.server.close();
    await discord?.close();
    await slack?.close();
    await relay?.down();
    await dropDatabase?.();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

const get = (path: string) => fetch(`http://127.0.0.1:${ops.server.port}${path}`);

/** `/metrics`, through a parser of the exposition format (it throws on a line it cannot read). */
async function scrape(): Promise<PromMetrics> {
    const response = await get("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    // prom-client writes `Nan` for an event-loop lag gauge with no sample since the last scrape;
    // Prometheus reads it (Go's ParseFloat), this parser reads no NaN at all. Only those may be NaN.
    const lines = (await response.text()).split("\n");
    const notANumber = lines.filter((line) => / Nan$/.test(line));
    expect(notANumber.every((line) => line.startsWith("nodejs_eventloop_lag_")), notANumber.join("\n")).toBe(true);
    return getMetricsFromStream(Readable.from([lines.filter((line) => !/ Nan$/.test(line)).join("\n")]));
}

const matches = (labels: Record<string, string>, wanted: Record<string, string>) => Object.entries(wanted).every(([key, value]) => labels[key] === value);

/** The sum of a counter's or gauge's series whose labels include `labels`; 0 when there is none yet. */
function value(metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number {
    const data = (metrics[name]?.data ?? []) as {labels: Record<string, string>; value: number}[];
    return data.filter((series) => matches(series.labels, labels)).reduce((sum, series) => sum + series.value, 0);
}

/** A histogram's sample count over its series whose labels include `labels`. */
function samples(metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number {
    expect(metrics[name]?.type).toBe("histogram");
    const data = (metrics[name]?.data ?? []) as PromHistogramData[];
    return data.filter((series) => matches(series.labels, labels)).reduce((sum, series) => sum + series.count, 0);
}

/** Sends a mention and resolves to the bot's reply to it, as last edited. */
async function replyOnDiscord(user: (typeof users)[keyof typeof users], text: string): Promise<string> {
    const message = guildMessage(user, text);
    discord.dispatch("MESSAGE_CREATE", message);
    await discord.waitFor(() => observer.finished.has(message.id as string), 30_000, `the turn ${text}`);
    const reply = discord.calls.find((call) => call.method === "POST" && call.status === 200 && (call.body?.message_reference as {message_id?: string} | undefined)?.message_id === message.id);
    return discord.messages.get((reply?.response as {id: string} | undefined)?.id ?? "")?.content ?? "(no reply)";
}

async function askSlack(text: string): Promise<void> {
    const eventId = `EvOps${randomBytes(3).toString("hex")}`;
    const body = JSON.stringify(appMentionEnvelope({eventId, channel: "C1", text: `<@UBOT> ${text}`, ts: "500.000001", user: "UALICE"}));
    expect((await signedPost(eventsUrl, body, {secret: secrets.signingSecret, contentType: "application/json"})).status).toBe(200);
    await slack.waitFor(() => observer.finished.has(eventId), 30_000);
}

async function readyz(): Promise<{status: number; body: {ready: boolean; reasons: string[]}}> {
    const response = await get("/readyz");
    return {status: response.status, body: await response.json() as {ready: boolean; reasons: string[]}};
}

describe("operating the bot: metrics, health checks and logs, end to end", () => {
    it("counts each turn in /metrics by the right amounts as it happens", async () => {
        const before = await scrape();
        const stepsBefore = app.scheduler.dispatcher.stats.steps;
        // One 429 on the reply's first post: discord.js waits and retries it.
        discord.injectRateLimit(1, (call) => call.method === "POST" && call.path === `/channels/${ids.channel}/messages`);
        await replyOnDiscord(users.member, messageTexts[0]!);
        const after = await scrape();

        const delta = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
        expect(delta("rwkv_turns_total", {platform: "discord", outcome: "answered"})).toBe(1);
        expect(delta("rwkv_turns_total")).toBe(1);
        expect(samples(after, "rwkv_reply_seconds") - samples(before, "rwkv_reply_seconds")).toBe(1);
        expect(samples(after, "rwkv_first_reply_token_seconds") - samples(before, "rwkv_first_reply_token_seconds")).toBe(1);
        // A conversation seen for the first time is restored (from nothing) into a slot.
        expect(samples(after, "rwkv_checkpoint_seconds", {operation: "restore"}) - samples(before, "rwkv_checkpoint_seconds", {operation: "restore"})).toBe(1);
        // Every engine step the dispatcher made is one sample, whatever its batch size.
        expect(samples(after, "rwkv_engine_step_seconds") - samples(before, "rwkv_engine_step_seconds")).toBe(app.scheduler.dispatcher.stats.steps - stepsBefore);
        expect(app.scheduler.dispatcher.stats.steps).toBeGreaterThan(stepsBefore);
        // The prompt, the reply and its closing tokens: exactly what the turn logged.
        const logged = await app.store.transcript(`discord:${ids.channel}`);
        expect(logged.map((turn) => turn.role)).toEqual(["user", "assistant"]);
        const generated = delta("rwkv_tokens_total", {kind: "generated"});
        expect(generated).toBeGreaterThan(0);
        expect(generated).toBeLessThanOrEqual(8);
        expect(delta("rwkv_tokens_total", {kind: "prefilled"}) + generated).toBe(logged.reduce((n, turn) => n + turn.tokens.length, 0));
        expect(delta("rwkv_platform_api_rate_limited_total", {platform: "discord"})).toBe(1);
        expect(delta("rwkv_platform_api_retries_total", {platform: "discord"})).toBeGreaterThanOrEqual(1);
        expect(delta("rwkv_platform_api_calls_total", {platform: "discord", outcome: "ok"})).toBeGreaterThanOrEqual(2);
        // The pulled figures and the info gauge.
        expect(value(after, "rwkv_conversations_resident")).toBe(1);
        expect(value(after, "rwkv_engine_slots")).toBe(2);
        expect(value(after, "rwkv_queue_waiting_turns")).toBe(0);
        expect(value(after, "rwkv_conversations_total")).toBe(1);
        expect(value(after, "rwkv_model_info", {precision: "fp32", backend: "cpu", slots: "2", model: "tiny-L3-C128-V1024.fp32.pth"})).toBe(1);
        expect(value(after, "process_resident_memory_bytes")).toBeGreaterThan(0);

        // The same user at once: refused by the cooldown, counted as busy and as a rate-limit refusal.
        await replyOnDiscord(users.member, messageTexts[1]!);
        const refused = await scrape();
        expect(value(refused, "rwkv_turns_total", {platform: "discord", outcome: "busy"}) - value(after, "rwkv_turns_total", {platform: "discord", outcome: "busy"})).toBe(1);
        expect(value(refused, "rwkv_rate_limited_total", {reason: "cooldown"}) - value(after, "rwkv_rate_limited_total", {reason: "cooldown"})).toBe(1);
        expect(samples(refused, "rwkv_reply_seconds")).toBe(samples(after, "rwkv_reply_seconds"));

        // Slack: its own platform label, and its Web API calls (placeholder, edits), a 429 among them.
        slack.injectRateLimit("chat.update", 1, 1);
        await askSlack(messageTexts[2]!);
        const slackAfter = await scrape();
        expect(value(slackAfter, "rwkv_turns_total", {platform: "slack", outcome: "answered"}) - value(refused, "rwkv_turns_total", {platform: "slack", outcome: "answered"})).toBe(1);
        expect(value(slackAfter, "rwkv_platform_api_calls_total", {platform: "slack", outcome: "ok"}) - value(refused, "rwkv_platform_api_calls_total", {platform: "slack", outcome: "ok"})).toBeGreaterThanOrEqual(2);
        expect(value(slackAfter, "rwkv_platform_api_rate_limited_total", {platform: "slack"}) - value(refused, "rwkv_platform_api_rate_limited_total", {platform: "slack"})).toBe(1);
        expect(value(slackAfter, "rwkv_conversations_total")).toBe(2);

        // /status: an admin sees the process's figures as /metrics has them; every token fed was within the minute.
        const status = await replyOnDiscord(users.admin, "/status");
        expect(status).toContain(`last checkpoint: none yet; newer turns are in the log`);
        expect(status).toContain("queue: 0 turn(s) waiting for the engine, 0 conversation(s) busy");
        expect(status).toContain(`engine: ${value(slackAfter, "rwkv_conversations_resident")} of 2 slot(s) held, ${(app.scheduler.dispatcher.stats.tokens / 60).toFixed(1)} tok/s over the last minute`);
        expect(await replyOnDiscord(users.member, "/status")).not.toContain("engine:");
    });

    it("answers /healthz always, and /readyz not ready while the database is cut (ready again after) or a platform is gone", async () => {
        expect(await readyz()).toEqual({status: 200, body: {ready: true, reasons: []}});
        const errorsBefore = value(await scrape(), "rwkv_database_errors_total");
        await relay.down();
        try {
            const cut = await readyz();
            expect(cut.status).toBe(503);
            expect(cut.body.ready).toBe(false);
            expect(cut.body.reasons).toEqual([expect.stringMatching(/^the database is unreachable \(store\/unavailable\)$/)]);
            const health = await get("/healthz");
            expect(health.status).toBe(200);
            expect(await health.text()).toBe("ok\n");
            // A scrape still answers (the conversation count keeps its last value), and counts the failures.
            const during = await scrape();
            expect(value(during, "rwkv_conversations_total")).toBe(2);
            expect(value(during, "rwkv_database_errors_total")).toBeGreaterThan(errorsBefore);
        } finally {
            await relay.up();
        }
        // The pool reconnects on its next query: ready within a few probes, as a prober would see it.
        let back = await readyz();
        for (let probe = 0; probe < 40 && back.status !== 200; probe++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            back = await readyz();
        }
        expect(back).toEqual({status: 200, body: {ready: true, reasons: []}});

        // A database that does not answer at all: the probe still answers, after its own 2 s.
        relay.stall();
        try {
            expect(await readyz()).toEqual({status: 503, body: {ready: false, reasons: ["the database does not answer (2 s)"]}});
        } finally {
            relay.unstall();
        }
        back = await readyz();
        for (let probe = 0; probe < 40 && back.status !== 200; probe++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            back = await readyz();
        }
        expect(back.status).toBe(200);

        // A platform that lost its connection for good (Discord closing with 4004, a revoked token).
        discord.dropConnection(4004);
        let lost = await readyz();
        for (let probe = 0; probe < 40 && lost.status === 200; probe++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            lost = await readyz();
        }
        expect(lost).toEqual({status: 503, body: {ready: false, reasons: ["discord is not connected"]}});
    });

    it("logs one JSON line per turn with its timings and outcome, and never a secret or a message's text", async () => {
        await app.stop();
        const lines = log.lines();
        const turns = lines.filter((line) => line.msg === "turn");
        expect(turns.map((line) => [line.platform, line.outcome])).toEqual([["discord", "answered"], ["discord", "busy"], ["slack", "answered"]]);
        expect(turns[0]).toMatchObject({level: 30, conversation: `discord:${ids.channel}`, firstTextMs: expect.any(Number), replyMs: expect.any(Number)});
        expect(turns[1]).toMatchObject({code: "scheduler/rate_limited", firstTextMs: null});
        // Bolt's own lines (the Web API client's 429 warning) are JSON lines of the same logger.
        expect(lines.some((line) => line.level === 40 && line.platform === "slack" && String(line.msg).includes("rate limit"))).toBe(true);
        const text = log.text();
        for (const [name, secret] of Object.entries(secrets)) expect(text.includes(secret), `${name} in the log`).toBe(false);
        const visible = lines.filter((line) => (line.level as number) >= 30).map((line) => JSON.stringify(line)).join("\n");
        for (const message of messageTexts) expect(visible.includes(message), `"${message}" in the log`).toBe(false);
        // The endpoint says so once the bot stops.
        expect((await readyz()).body.reasons).toEqual(["shutting down"]);
    });
});
