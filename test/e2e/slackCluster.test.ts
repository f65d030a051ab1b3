import {randomBytes} from "node:crypto";
import {rmSync} from "node:fs";
import {Redis} from "ioredis";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import {requiredInCi} from "../helpers/requiredInCi.ts";
import {redisMissing, testRedisUrl} from "../helpers/testRedis.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import type {FakeSlack} from "./fakes/FakeSlack.ts";
import {appMentionEnvelope, signedPost} from "./fakes/FakeSlack.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";
import {startSlackTeam} from "./helpers/slackTeam.ts";
import {SlackBotProcess} from "./helpers/SlackBotProcess.ts";

// README § Running several processes: three bot processes share one Postgres and one Redis, each
// with its own engine (the tiny fixture model, greedy) and its own Slack HTTP endpoint, as behind a
// load balancer that spreads events over them. Every conversation's turns reach whichever process,
// and are answered by the one serving it, exactly once, with the replies a single process gives.
const secret = "cluster-signing-secret";
const channels = Array.from({length: 12}, (_, i) => `C${i + 1}`);
// Three rounds sprayed over three processes, a fourth over the two left after one stopped.
const rounds = 4;

const missing = await redisMissing("the processes of a deployment route turns over Redis");

let fake: FakeSlack;
let dir: string;
const databases: {url: string; drop(): Promise<void>}[] = [];
const clusterName = `rwkv-test-${randomBytes(4).toString("hex")}`;
const bots: SlackBotProcess[] = [];

function botEnv(databaseUrl: string): Record<string, string> {
    return {
        ...tinyBotEnv(dir), DATABASE_URL: databaseUrl,
        SLACK_BOT_TOKEN: "xoxb-cluster", SLACK_SIGNING_SECRET: secret, SLACK_PORT: "0", SLACK_HOST: "127.0.0.1",
        SLACK_API_URL: fake.apiUrl, SLACK_BOT_USER_ID: "UBOT", SLACK_BOT_ID: "BBOT",
    };
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

beforeAll(async () => {
    if (missing !== undefined) return;
    dir = tinyBotDir("rwkv-slack-cluster-");
    fake = await startSlackTeam();
    databases.push(await createThrowawayDatabase(), await createThrowawayDatabase());
});

afterAll(async () => {
    for (const bot of bots) bot.kill();
    await Promise.all(bots.map((bot) => bot.exited));
    await Promise.all(databases.map((database) => database.drop()));
    await fake?.close();
    if (missing === undefined) {
        const redis = new Redis(testRedisUrl);
        const keys = await redis.keys(`${clusterName}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
    }
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe.runIf(requiredInCi(missing))("three bot processes on one Postgres and one Redis, Slack in HTTP mode", () => {
    it("answer 12 conversations sprayed round-robin over them exactly once each, as one process does, and one stopping hands its conversations over at once", async () => {
        // The single-process run, in this process: the replies every round must get.
        const observer = new TurnObserver();
        const single = await startObservedApp(botEnv(databases[0]!.url), observer);
        const expected: string[][][] = [];
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
        expect(expected.flat().every((thread) => thread.length === 1 && thread[0] !== "_…thinking_")).toBe(true);

        // The deployment. A long LEASE_MS: a hand-off that waited for it would time the test out.
        const clusterEnv = {...botEnv(databases[1]!.url), REDIS_URL: testRedisUrl, CLUSTER_NAME: clusterName, LEASE_MS: "120000"};
        bots.push(...await Promise.all([0, 1, 2].map(() => SlackBotProcess.start(clusterEnv))));
        const sentInRound: {ts: string}[][] = [];
        for (let round = 0; round < rounds; round++) {
            if (round === 3) await bots[0]!.stop();
            // Round-robin over the live processes, shifted every round: most turns reach a process that does not serve them.
            const live = round === 3 ? bots.slice(1) : bots;
            const sent = await Promise.all(channels.map((channel, c) => mention(live[(c + round) % live.length]!.eventsUrl, "2", channel, round)));
            sentInRound.push(sent);
            await fake.waitFor(() => channels.every((channel, c) => threadTexts(channel, sent[c]!.ts).join("") === expected[round]![c]!.join("")), 60_000)
                .catch((error: unknown) => {
                    const got = channels.map((channel, c) => `${channel}: ${JSON.stringify(threadTexts(channel, sent[c]!.ts))} vs ${JSON.stringify(expected[round]![c])}`);
                    throw new Error(`round ${round}: ${String(error)}\n${got.join("\n")}\n${bots.map((bot) => bot.stderr).join("\n")}`);
                });
        }
        // Whatever was still on its way has landed once every process has stopped: exactly one reply each.
        await Promise.all(bots.map((bot) => bot.stop()));
        for (let round = 0; round < rounds; round++) {
            expect(channels.map((channel, c) => threadTexts(channel, sentInRound[round]![c]!.ts))).toEqual(expected[round]);
        }
    }, 180_000);
});
