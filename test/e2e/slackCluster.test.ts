import {randomBytes} from "node:crypto";
import {rmSync} from "node:fs";
import {Redis} from "ioredis";
import pg from "pg";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import {requiredInCi} from "../helpers/requiredInCi.ts";
import {dropDeployments, redisMissing, testRedisUrl} from "../helpers/testRedis.ts";
import {CuttableRelay} from "../store/helpers/CuttableRelay.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import type {FakeSlack} from "./fakes/FakeSlack.ts";
import {appMentionEnvelope, signedPost, slashCommandFields} from "./fakes/FakeSlack.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";
import {startSlackTeam} from "./helpers/slackTeam.ts";
import {SlackBotProcess} from "./helpers/SlackBotProcess.ts";

// README § Running several processes: three bot processes share one Postgres and one Redis, each
// with its own engine (the tiny fixture model, greedy) and its own Slack HTTP endpoint, as behind a
// load balancer that spreads events over them. Every conversation's turns reach whichever process,
// and are answered by the one serving it, exactly once, with the replies a single process gives —
// also when one of them stops, gracefully or killed.
const secret = "cluster-signing-secret";
const channels = Array.from({length: 12}, (_, i) => `C${i + 1}`);
const rounds = 4;
const placeholder = "_…thinking_";

const missing = await redisMissing("the processes of a deployment route turns over Redis");

let fake: FakeSlack;
let dir: string;
const databases: {url: string; drop(): Promise<void>}[] = [];
const clusterNames: string[] = [];
const bots: SlackBotProcess[] = [];
/** What one process answers: the thread of each round's mention in each channel. */
const expected: string[][][] = [];

function botEnv(databaseUrl: string): Record<string, string> {
    return {
        // Replies long enough for a kill to land while they stream.
        ...tinyBotEnv(dir), REPLY_MAX_TOKENS: "32", DATABASE_URL: databaseUrl,
        SLACK_BOT_TOKEN: "xoxb-cluster", SLACK_SIGNING_SECRET: secret, SLACK_PORT: "0", SLACK_HOST: "127.0.0.1",
        SLACK_API_URL: fake.apiUrl, SLACK_BOT_USER_ID: "UBOT", SLACK_BOT_ID: "BBOT",
    };
}

/** A fresh database and Redis namespace, and `count` processes on them (`own[i]`: settings of the i-th only). */
async function startDeployment(count: number, settings: Record<string, string>, own: Record<string, string>[] = []): Promise<{url: string; name: string; bots: SlackBotProcess[]}> {
    const database = await createThrowawayDatabase();
    databases.push(database);
    const clusterName = `rwkv-test-${randomBytes(4).toString("hex")}`;
    clusterNames.push(clusterName);
    const env = {...botEnv(database.url), REDIS_URL: testRedisUrl, CLUSTER_NAME: clusterName, ...settings};
    const started = await Promise.all(Array.from({length: count}, (_, i) => SlackBotProcess.start({...env, ...own[i]})));
    bots.push(...started);
    return {url: database.url, name: clusterName, bots: started};
}

/** Mentions the bot in `channel` through the endpoint `eventsUrl`; the thread is the event's `ts`. */
async function mention(eventsUrl: string, run: string, channel: string, round: number): Promise<{eventId: string; ts: string}> {
    const ts = `${run}${round}.${channel.slice(1).padStart(6, "0")}`;
    const eventId = `Ev${run}-${channel}-${round}`;
    const envelope = appMentionEnvelope({eventId, channel, text: `<@UBOT> round ${round} in ${channel}`, ts, user: "UADMIN"});
    const response = await signedPost(eventsUrl, JSON.stringify(envelope), {secret, contentType: "application/json"});
    expect(response.status).toBe(200);
    return {eventId, ts};
}

function threadTexts(channel: string, ts: string): string[] {
    return fake.thread(channel, ts).map((message) => message.text);
}

/** Sprays one round's mentions over `targets` (round-robin, shifted by the round) and resolves to their threads. */
async function spray(targets: SlackBotProcess[], run: string, round: number): Promise<string[]> {
    const sent = await Promise.all(channels.map((channel, c) => mention(targets[(c + round) % targets.length]!.eventsUrl, run, channel, round)));
    return sent.map(({ts}) => ts);
}

/** Waits until the last message of each thread of the round is the single process's reply. */
async function answered(round: number, threads: string[]): Promise<void> {
    const last = (c: number) => threadTexts(channels[c]!, threads[c]!).at(-1);
    await fake.waitFor(() => channels.every((_, c) => last(c) === expected[round]![c]![0]), 60_000).catch((error: unknown) => {
        const got = channels.map((channel, c) => `${channel}: ${JSON.stringify(threadTexts(channel, threads[c]!))} vs ${JSON.stringify(expected[round]![c])}`);
        throw new Error(`round ${round}: ${String(error)}\n${got.join("\n")}\n${bots.map((bot) => bot.stderr).join("\n")}`);
    });
}

/** Mentions the bot with `text` (and files) in a thread of its own (`ts`). */
async function mentionWith(eventsUrl: string, channel: string, eventId: string, ts: string, text: string, files?: {name: string; url: string; size: number}[]): Promise<void> {
    const envelope = appMentionEnvelope({eventId, channel, text, ts, user: "UADMIN", ...(files === undefined ? {} : {files})});
    expect((await signedPost(eventsUrl, JSON.stringify(envelope), {secret, contentType: "application/json"})).status).toBe(200);
}

/** Whether every turn of `eventIds` reached Redis: in one of the deployment's streams (journaled by its receiver, or forwarded), or answered. */
async function journaled(clusterName: string, eventIds: string[]): Promise<boolean> {
    const redis = new Redis(testRedisUrl);
    try {
        const ids = new Set<string>();
        for (const stream of await redis.keys(`${clusterName}:turns:*`)) {
            for (const [, fields] of await redis.xrange(stream, "-", "+")) ids.add((JSON.parse(fields[1]!) as {id: string}).id);
        }
        for (const id of eventIds) if (await redis.exists(`${clusterName}:done:${id}`) === 1) ids.add(id);
        return eventIds.every((id) => ids.has(id));
    } finally {
        redis.disconnect();
    }
}

/** Every conversation's logged turns (role and text, in order) in the database at `url`. */
async function logs(url: string): Promise<Map<string, string[]>> {
    const client = new pg.Client({connectionString: url});
    await client.connect();
    try {
        const {rows} = await client.query<{key: string; role: string; text: string}>(
            `SELECT c.key, t.role, t.text FROM turn t JOIN conversation c ON c.id = t."conversationId" ORDER BY c.key, t.epoch, t.seq`);
        const byKey = new Map<string, string[]>();
        for (const row of rows) byKey.set(row.key, [...byKey.get(row.key) ?? [], `${row.role}: ${row.text}`]);
        return byKey;
    } finally {
        await client.end();
    }
}

/** How many turns of the database at `url` are logged with the platform id `turnId`. */
async function loggedIds(url: string, turnId: string): Promise<number> {
    const client = new pg.Client({connectionString: url});
    await client.connect();
    try {
        const {rows} = await client.query<{n: string}>(`SELECT count(*) AS n FROM turn WHERE "turnId" = $1`, [turnId]);
        return Number(rows[0]!.n);
    } finally {
        await client.end();
    }
}

beforeAll(async () => {
    if (missing !== undefined) return;
    dir = tinyBotDir("rwkv-slack-cluster-");
    fake = await startSlackTeam();
    // The single-process run, in this process: the replies every round must get.
    const database = await createThrowawayDatabase();
    databases.push(database);
    const observer = new TurnObserver();
    const single = await startObservedApp(botEnv(database.url), observer);
    try {
        const eventsUrl = `http://127.0.0.1:${(single.adapters[0] as SlackAdapter).port}/slack/events`;
        for (let round = 0; round < rounds; round++) {
            const sent = await Promise.all(channels.map((channel) => mention(eventsUrl, "1", channel, round)));
            await fake.waitFor(() => sent.every(({eventId}) => observer.finished.has(eventId)), 60_000);
            expected.push(channels.map((channel, c) => threadTexts(channel, sent[c]!.ts)));
        }
    } finally {
        await single.app.stop();
    }
}, 120_000);

afterAll(async () => {
    for (const bot of bots) bot.kill();
    await Promise.all(bots.map((bot) => bot.exited));
    await Promise.all(databases.map((database) => database.drop()));
    await fake?.close();
    if (missing === undefined) await dropDeployments(clusterNames);
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe.runIf(requiredInCi(missing))("three bot processes on one Postgres and one Redis, Slack in HTTP mode", () => {
    it("answer 12 conversations sprayed round-robin over them exactly once each, as one process does, and one stopping hands its conversations over at once", async () => {
        expect(expected.flat().every((thread) => thread.length === 1 && thread[0] !== placeholder)).toBe(true);
        // A long LEASE_MS: a hand-off that waited for it would time the test out.
        const deployment = await startDeployment(3, {LEASE_MS: "120000"});
        const threads: string[][] = [];
        for (let round = 0; round < rounds; round++) {
            // Three rounds over the three processes, the last over the two left after one stopped.
            if (round === 3) await deployment.bots[0]!.stop();
            threads.push(await spray(round === 3 ? deployment.bots.slice(1) : deployment.bots, "2", round));
            await answered(round, threads[round]!);
        }
        // `/rwkv status` reaches each live process and is answered by the one serving the conversation, which it names.
        const live = deployment.bots.slice(1);
        for (const [i, bot] of live.entries()) {
            const fields = slashCommandFields({text: "status", channel: "C1", user: "UADMIN", triggerId: `status-${i}`, responseUrl: fake.responseUrl(`status-${i}`)});
            expect((await signedPost(bot.eventsUrl, new URLSearchParams(fields).toString(), {secret, contentType: "application/x-www-form-urlencoded"})).status).toBe(200);
        }
        const statuses = await fake.waitFor(() => {
            const found = fake.thread("C1", undefined).map((message) => /served by: [^:\n]+:(\d+):/.exec(message.text)?.[1]).filter((pid) => pid !== undefined);
            return found.length === live.length && found;
        }, 60_000);
        expect(new Set(statuses).size).toBe(1);
        expect(live.map((bot) => String(bot.pid))).toContain(statuses[0]);

        // Whatever was still on its way has landed once every process has stopped: exactly one reply each.
        await Promise.all(deployment.bots.map((bot) => bot.stop()));
        for (let round = 0; round < rounds; round++) {
            expect(channels.map((channel, c) => threadTexts(channel, threads[round]![c]!))).toEqual(expected[round]);
        }
    }, 180_000);

    it("lose nothing when one is killed in the middle of replies: the others answer what it had taken, once, after LEASE_MS", async () => {
        // A short LEASE_MS (the presence's TTL), with a margin for heartbeats of processes sharing two cores.
        // The victim has one slot: turns wait in its queue when it dies.
        const deployment = await startDeployment(3, {LEASE_MS: "3000"}, [{SLACK_BOT_TOKEN: "xoxb-victim", ENGINE_SLOTS: "1"}]);
        const [victim] = deployment.bots;
        const threads = [await spray(deployment.bots, "3", 0)];
        await answered(0, threads[0]!);
        const since = Date.now();
        threads.push(await spray(deployment.bots, "3", 1));
        // Killed once every turn of the round is in Redis (a turn killed before it got there is lost: the event was
        // acknowledged to Slack) and the victim has started a reply: that one, and whatever else it holds or was sent, is cut.
        const roundIds = channels.map((channel) => `Ev3-${channel}-1`);
        for (;;) {
            if (await journaled(deployment.name, roundIds)) break;
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await fake.waitFor(() => fake.calls.some((call) => call.token === "xoxb-victim" && call.method === "chat.postMessage" && call.at >= since), 60_000);
        victim!.kill();
        await victim!.exited;
        await answered(1, threads[1]!);
        threads.push(await spray(deployment.bots.slice(1), "3", 2));
        await answered(2, threads[2]!);
        await Promise.all(deployment.bots.slice(1).map((bot) => bot.stop()));

        // One complete reply per message; before it, at most what the kill cut (the placeholder, or a part of the reply).
        const cut: string[] = [];
        for (let round = 0; round < 3; round++) {
            for (const [c, channel] of channels.entries()) {
                const shown = threadTexts(channel, threads[round]![c]!);
                const reply = expected[round]![c]![0]!;
                expect(shown.at(-1)).toBe(reply);
                expect(shown.length).toBeLessThanOrEqual(2);
                if (shown.length === 2) {
                    expect(shown[0] === placeholder || reply.startsWith(shown[0]!) && shown[0] !== reply).toBe(true);
                    cut.push(channel);
                }
            }
        }
        expect(cut.length).toBeGreaterThan(0);
        // Every reply logged once, in order: the logs are the single process's, turn for turn.
        const single = await logs(databases[0]!.url);
        const deployed = await logs(deployment.url);
        for (const [key, turns] of deployed) expect({key, turns}).toEqual({key, turns: single.get(key)?.slice(0, 6)});
        expect(deployed.size).toBe(channels.length);
    }, 180_000);

    it("answer a turn whose owner was killed after logging it with the logged reply, never a second one, and log it once", async () => {
        // Two windows, held open by the fake: the owner's final edit not yet shown (killed between logging the turn and
        // completing its reply), and shown but not acknowledged to it (killed between completing and its done marker).
        for (const [c, shownBeforeKill] of [[4, false], [5, true]] as const) {
            const deployment = await startDeployment(2, {LEASE_MS: "3000"}, [{SLACK_BOT_TOKEN: "xoxb-victim"}]);
            const [victim] = deployment.bots;
            const channel = channels[c]!;
            const reply = expected[0]![c]![0]!;
            const held = fake.hold((call) => call.token === "xoxb-victim" && call.method === "chat.update" && call.args.text === reply, shownBeforeKill);
            const {eventId, ts} = await mention(victim!.eventsUrl, `6${c}`, channel, 0);
            await fake.waitFor(() => held.length > 0, 60_000);
            // The held edit may be a streamed one: the owner logs the turn meanwhile, then waits on it to complete.
            while (await loggedIds(deployment.url, eventId) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
            const killedAt = Date.now();
            victim!.kill();
            await victim!.exited;
            // The other process claims the turn after LEASE_MS and delivers the reply the log holds.
            const shown = await fake.waitFor(() => fake.calls.some((call) => call.at >= killedAt && call.args.channel === channel && call.args.text === reply) && threadTexts(channel, ts), 60_000);
            await deployment.bots[1]!.stop();
            // Generated once and logged once: the log is the single process's.
            expect((await logs(deployment.url)).get(`slack:T1:${channel}`)).toEqual((await logs(databases[0]!.url)).get(`slack:T1:${channel}`)?.slice(0, 2));
            expect(await loggedIds(deployment.url, eventId)).toBe(1);
            // Cut before it was shown: the cut message, then the reply. Shown before the kill: the same words again (what is
            // left of this window: the claimant cannot know the user saw them), never another reply.
            expect(shown).toHaveLength(2);
            expect(shown[1]).toBe(reply);
            expect(shown[0] === reply).toBe(shownBeforeKill);
        }
    }, 180_000);

    it("acknowledge a mention only once its turn is in Redis, over HTTP and Socket Mode: a process killed right after the acknowledgement loses nothing", async () => {
        for (const [c, victimEnv] of [[6, {}], [7, {SLACK_APP_TOKEN: "xapp-victim"}]] as const) {
            const socketMode = "SLACK_APP_TOKEN" in victimEnv;
            const deployment = await startDeployment(2, {LEASE_MS: "3000"}, [{SLACK_BOT_TOKEN: "xoxb-victim", ...victimEnv}]);
            const [victim, other] = deployment.bots;
            const channel = channels[c]!;
            const eventId = `Ev7-${channel}`;
            const ts = `70.${channel.slice(1).padStart(6, "0")}`;
            const envelope = appMentionEnvelope({eventId, channel, text: `<@UBOT> round 0 in ${channel}`, ts, user: "UADMIN"});
            if (socketMode) await fake.sendEnvelope("events_api", envelope);
            else expect((await signedPost(victim!.eventsUrl, JSON.stringify(envelope), {secret, contentType: "application/json"})).status).toBe(200);
            // Acknowledged means journaled: killed the moment after, the process leaves the turn to the other one.
            expect(await journaled(deployment.name, [eventId])).toBe(true);
            victim!.kill();
            await victim!.exited;
            const reply = expected[0]![c]![0]!;
            await fake.waitFor(() => threadTexts(channel, ts).at(-1) === reply, 60_000);
            await other!.stop();
            expect(threadTexts(channel, ts).filter((text) => text !== placeholder)).toEqual([reply]);
            expect(await loggedIds(deployment.url, eventId)).toBe(1);
        }
    }, 180_000);

    it("forward an import with its file to the process serving the conversation, which fetches the file itself", async () => {
        const {bots: [owner, other]} = await startDeployment(2, {LEASE_MS: "120000"}, [{SLACK_BOT_TOKEN: "xoxb-owner"}]);
        const channel = channels[8]!;
        const {ts} = await mention(owner!.eventsUrl, "8", channel, 0);
        await fake.waitFor(() => threadTexts(channel, ts).at(-1) === expected[0]![8]![0], 60_000);
        const uploads = fake.uploads.length;
        await mentionWith(owner!.eventsUrl, channel, "Ev8-export", "80.5", "<@UBOT> /export");
        const exported = await fake.waitFor(() => fake.uploads.slice(uploads).find((upload) => upload.channel === channel && upload.bytes !== null), 60_000);
        const file = {name: exported.filename, url: fake.hostFile(exported.filename, exported.bytes!), size: exported.bytes!.length};
        const downloads = fake.downloads;
        // Sent to the process that does not serve the conversation: the file travels by its URL, the owner downloads and imports it.
        await mentionWith(other!.eventsUrl, channel, "Ev8-import", "80.6", "<@UBOT> /import", [file]);
        const shown = await fake.waitFor(() => threadTexts(channel, "80.6").find((text) => /^(Imported |:warning:)/.test(text)), 60_000).catch((error: unknown) => {
            throw new Error(`${String(error)}\n${JSON.stringify(fake.calls.filter((call) => call.args.channel === channel))}\n${owner!.stderr}\n${other!.stderr}`);
        });
        expect(shown).toMatch(/^Imported /);
        // Answered by the owner (its token), not by the process the event reached.
        expect(fake.callsOf("chat.postMessage").filter((call) => call.args.thread_ts === "80.6").map((call) => call.token)).toEqual(["xoxb-owner"]);
        expect(fake.downloads).toBe(downloads + 1);
        await Promise.all([owner!, other!].map((bot) => bot.stop()));
    }, 180_000);

    it("keep serving their own conversations while Redis is down, refuse a forward clearly, and forward again once it is back", async () => {
        const {relay, url: relayedRedis} = await CuttableRelay.to(testRedisUrl);
        try {
            const {bots: [a, b]} = await startDeployment(2, {LEASE_MS: "120000", REDIS_URL: relayedRedis});
            // C1 is a's, C2 is b's; every answer is checked against the single process's.
            const ask = async (bot: SlackBotProcess, c: number, round: number, run = "4"): Promise<string[]> => {
                const {ts} = await mention(bot.eventsUrl, run, channels[c]!, round);
                const want = expected[round]![c]![0]!;
                return fake.waitFor(() => {
                    const shown = threadTexts(channels[c]!, ts);
                    return shown.at(-1) !== undefined && shown.at(-1) !== placeholder && (run !== "4" || shown.at(-1) === want) && shown;
                }, 60_000);
            };
            expect(await ask(a!, 0, 0)).toEqual(expected[0]![0]);
            expect(await ask(b!, 1, 0)).toEqual(expected[0]![1]);

            await relay.down();
            expect(await ask(a!, 0, 1)).toEqual(expected[1]![0]);
            expect(await ask(b!, 1, 1)).toEqual(expected[1]![1]);
            // A turn for a's conversation that reaches b cannot travel: a clear reply, and nothing logged.
            expect(await ask(b!, 0, 2, "5")).toEqual([":warning: Another instance of the bot serves this conversation and cannot be reached right now (its message bus is down); try again shortly."]);

            const marks = [a!.stderr.length, b!.stderr.length] as const;
            await relay.up();
            await Promise.all([a!, b!].map((bot, i) => bot.logged("the message bus (Redis) is reachable again", marks[i]!)));
            await a!.logged("reading forwarded turns again", marks[0]);
            expect(await ask(b!, 0, 2)).toEqual(expected[2]![0]);
            expect(await ask(a!, 1, 2)).toEqual(expected[2]![1]);
            await Promise.all([a!, b!].map((bot) => bot.stop()));
        } finally {
            await relay.down();
        }
    }, 180_000);
});
