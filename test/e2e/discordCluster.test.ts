import {randomBytes} from "node:crypto";
import {rmSync} from "node:fs";
import {Redis} from "ioredis";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import type {Adapter} from "../../src/core/Adapter.ts";
import {requiredInCi} from "../helpers/requiredInCi.ts";
import {seededRandom} from "../helpers/seededRandom.ts";
import {dropDeployments, redisMissing, testRedisUrl} from "../helpers/testRedis.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import type {FakeDiscord, RecordedCall} from "./fakes/FakeDiscord.ts";
import {shardOf} from "./fakes/FakeDiscord.ts";
import {guildCreate, guildMessage, ids, slashCommand, snowflake, users} from "./fakes/discordPayloads.ts";
import {startFakeDiscord, TEST_TOKEN} from "./fakes/discordHarness.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";

// README § Running several processes: two bot processes on Discord shards 0 and 1 of 2, one
// Postgres and one Redis. Channel C is sent through both guilds (the loopback gateway does not
// mind), so a turn for the conversation process A serves reaches process B, which forwards it;
// A answers through Discord's REST, with what travelled in the turn's reply address.
const secondGuild = String(BigInt(ids.guild) + (1n << 22n));
const channel = ids.channel;
const conversation = `discord:${channel}`;
// Only in the second guild: process A never sees it on its shard.
const unseenChannel = "100000000000000030";
const words = ["lamps", "rivers", "owls", "copper", "maps", "tides", "orchards", "bells"];

const missing = await redisMissing("Discord turns are forwarded over Redis");

let fake: FakeDiscord;
let dir: string;
let database: {url: string; drop(): Promise<void>} | undefined;
const clusterName = `rwkv-test-${randomBytes(4).toString("hex")}`;
const bots: {app: App; observer: TurnObserver; discord: Adapter}[] = [];

/** The bot's replies to message `id` (POSTs referencing it), as last edited. */
function repliesTo(id: string): string[] {
    return fake.calls
        .filter((call) => call.method === "POST" && call.status === 200 && (call.body?.message_reference as {message_id?: string} | undefined)?.message_id === id)
        .map((call) => fake.messages.get((call.response as {id: string}).id)?.content ?? "");
}

/** What the bot posted that says the turn could not be served here (a turn not forwarded gets it at once). */
function refusals(): string[] {
    return [...fake.messages.values()].map((message) => message.content).filter((text) => /Another instance|try again/.test(text));
}

beforeAll(async () => {
    if (missing !== undefined) return;
    dir = tinyBotDir("rwkv-discord-cluster-");
    const roles = (guildCreate().roles as {id: string}[]).map((role) => (role.id === ids.guild ? {...role, id: secondGuild} : role));
    const second = {...guildCreate(), id: secondGuild, name: "Other Server", roles, channels: [{id: channel, type: 0, name: "general"}, {id: unseenChannel, type: 0, name: "other"}]};
    fake = await startFakeDiscord({guilds: [guildCreate(), second], threads: []});
    database = await createThrowawayDatabase();
    for (const shard of [0, 1]) {
        const observer = new TurnObserver();
        const {app, adapters} = await startObservedApp({
            ...tinyBotEnv(dir), DATABASE_URL: database.url, REDIS_URL: testRedisUrl, CLUSTER_NAME: clusterName,
            DISCORD_TOKEN: TEST_TOKEN, DISCORD_API_URL: fake.apiBase, DISCORD_REGISTER_COMMANDS: "0",
            DISCORD_SHARD_IDS: String(shard), DISCORD_SHARD_COUNT: "2",
        }, observer);
        bots.push({app, observer, discord: adapters.find((adapter) => adapter.platform === "discord")!});
    }
});

afterAll(async () => {
    for (const {app} of bots) await app.stop();
    await database?.drop();
    await fake?.close();
    if (missing === undefined) await dropDeployments([clusterName]);
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe.runIf(requiredInCi(missing))("a Discord turn that reaches the process not serving its conversation", () => {
    it("is forwarded to the owner, which answers it through REST: mentions and slash commands", async () => {
        const random = seededRandom("discordCluster");
        const say = () => `tell me about ${words[random.below(words.length)]} and ${words[random.below(words.length)]}`;
        expect([ids.guild, secondGuild].map((guild) => shardOf(guild, 2))).toEqual([0, 1]);
        const [a, b] = bots as [typeof bots[number], typeof bots[number]];

        // (a) Through the first guild: process A answers and now serves the channel's conversation.
        const first = guildMessage(users.member, say());
        fake.dispatch("MESSAGE_CREATE", first);
        await fake.waitFor(() => a.observer.finished.has(first.id as string), 15_000, "A's own turn");
        expect(repliesTo(first.id as string)).toHaveLength(1);
        const holder = await a.app.store.leaseHolder(conversation);
        expect(holder).not.toBeNull();

        // (b) The same channel through the second guild reaches B, which hands it to A.
        const second: Record<string, unknown> = {...guildMessage(users.member, say()), guild_id: secondGuild};
        fake.dispatch("MESSAGE_CREATE", second);
        await fake.waitFor(() => a.observer.answeredForOthers.some((address) => address.message === second.id) || refusals().length > 0, 15_000, "A answering B's turn");
        expect(refusals()).toEqual([]);
        expect(b.observer.answeredForOthers).toEqual([]);
        expect(a.observer.finished.has(second.id as string)).toBe(false);
        const replies = repliesTo(second.id as string);
        expect(replies).toHaveLength(1);
        expect(replies[0]).not.toBe("");
        expect(await a.app.store.leaseHolder(conversation)).toBe(holder);

        // (c) `/rwkv status` through the second guild: B defers it, A fills the deferred reply.
        const command = slashCommand(users.admin, "status", {channelId: channel});
        const status: Record<string, unknown> = {...command, guild_id: secondGuild, channel: {...command.channel as object, guild_id: secondGuild}};
        fake.dispatch("INTERACTION_CREATE", status);
        await fake.waitFor(() => a.observer.answeredForOthers.some((address) => address.token === String(status.token)) || refusals().length > 0, 15_000, "A answering B's slash command");
        expect(b.observer.answeredForOthers).toEqual([]);
        expect(fake.calls.some((call) => call.path === `/interactions/${String(status.id)}/${String(status.token)}/callback`)).toBe(true);
        const filled: RecordedCall[] = fake.calls.filter((call) => call.method === "PATCH" && call.path === `/webhooks/${ids.application}/${String(status.token)}/messages/@original`);
        expect(filled.length).toBeGreaterThan(0);
        expect(String(filled.at(-1)?.body?.content)).toContain(`served by: ${holder}`);
        expect(refusals()).toEqual([]);
    });

    it("is cancelled on its owner when the message is deleted where it arrived: never generated, never logged", async () => {
        const a = bots[0]!;
        const holder = (await a.app.store.leaseHolder(conversation))!;
        // A's own turn holds the conversation (its reply held before completing): B's forwarded turn waits behind it on A.
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let holding!: () => void;
        const held = new Promise<void>((resolve) => (holding = resolve));
        a.observer.beforeComplete = async () => {
            holding();
            await released;
        };
        const first = guildMessage(users.member, "tell me about lamps");
        fake.dispatch("MESSAGE_CREATE", first);
        await held;
        const second: Record<string, unknown> = {...guildMessage(users.member, "never answer this one"), guild_id: secondGuild};
        fake.dispatch("MESSAGE_CREATE", second);
        const redis = new Redis(testRedisUrl);
        const until = async (done: () => Promise<boolean>) => {
            while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 10));
        };
        try {
            // Read by A, and waiting behind the held turn.
            await until(async () => (await redis.xrange(`${clusterName}:turns:${holder}`, "-", "+")).some(([, fields]) => fields[1]?.includes(`"id":"${String(second.id)}"`) === true));
            // Deleted through the second guild: B, which received it, sends the cancel on.
            fake.dispatch("MESSAGE_DELETE", {id: second.id, channel_id: channel, guild_id: secondGuild});
            await until(async () => await redis.exists(`${clusterName}:cancel:${String(second.id)}`) === 1);
        } finally {
            redis.disconnect();
        }
        release();
        await fake.waitFor(() => a.observer.answeredForOthers.some((address) => address.message === second.id), 15_000, "A answering the deleted turn");
        expect(repliesTo(second.id as string).join("\n")).toContain("cancelled");
        const logged = (await a.app.store.transcript(conversation)).map((turn) => turn.text);
        expect(logged).toContain("tell me about lamps");
        expect(logged).not.toContain("never answer this one");
    }, 60_000);

    it("finishes a reply another process began in that reply's own message, given where it is", async () => {
        const question = snowflake();
        // B begins a reply (its first message posted, a part streamed) and goes no further, as if killed.
        const begun = bots[1]!.discord.replySink!({channel, message: question});
        const at = new Promise<Record<string, string>>((resolve) => begun.onPosted!(resolve));
        await begun.update("the first half");
        const where = await at;
        expect(where).toEqual({resume: expect.any(String)});
        // A, claiming the turn, gets the address plus where the reply is: it edits that message, posts none.
        const posts = () => fake.calls.filter((call) => call.method === "POST" && (call.body?.message_reference as {message_id?: string} | undefined)?.message_id === question);
        expect(posts()).toHaveLength(1);
        await bots[0]!.discord.replySink!({channel, message: question, ...where}).complete("the first half and the second");
        expect(posts()).toHaveLength(1);
        expect(repliesTo(question)).toEqual(["the first half and the second"]);
    });

    it("is answered in a channel whose guild the owner's shard never saw, fetched through REST", async () => {
        const answered = snowflake();
        const sink = bots[0]!.discord.replySink!({channel: unseenChannel, message: answered});
        await sink.complete("answered from shard 0");
        const posted = fake.calls.filter((call) => call.method === "POST" && call.path === `/channels/${unseenChannel}/messages`);
        expect(posted.map((call) => [call.status, call.body?.content, (call.body?.message_reference as {message_id?: string} | undefined)?.message_id]))
            .toEqual([[200, "answered from shard 0", answered]]);
        expect(fake.calls.some((call) => call.method === "GET" && call.path === `/channels/${unseenChannel}`)).toBe(true);
    });
});
