import {rmSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import type {FakeDiscord} from "./fakes/FakeDiscord.ts";
import {shardOf} from "./fakes/FakeDiscord.ts";
import {guildCreate, guildMessage, ids, users} from "./fakes/discordPayloads.ts";
import {startFakeDiscord, TEST_TOKEN} from "./fakes/discordHarness.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";

// README § Running several processes: Discord's own gateway sharding gives each bot process its
// guilds. Two bots (each with its own engine, one Postgres) run shard 0 and shard 1 of 2 against
// the loopback gateway, which routes each guild's events to its shard as Discord does.
const otherGuild = String(BigInt(ids.guild) + (1n << 22n));
const otherChannel = "100000000000000030";

let fake: FakeDiscord;
let dir: string;
let database: {url: string; drop(): Promise<void>};
const bots: {app: App; observer: TurnObserver}[] = [];

beforeAll(async () => {
    dir = tinyBotDir("rwkv-discord-shards-");
    const roles = (guildCreate().roles as {id: string}[]).map((role) => (role.id === ids.guild ? {...role, id: otherGuild} : role));
    const second = {...guildCreate(), id: otherGuild, name: "Other Server", roles, channels: [{id: otherChannel, type: 0, name: "other"}]};
    fake = await startFakeDiscord({guilds: [guildCreate(), second], threads: []});
    database = await createThrowawayDatabase();
    for (const shard of [0, 1]) {
        const observer = new TurnObserver();
        const {app} = await startObservedApp({
            ...tinyBotEnv(dir), DATABASE_URL: database.url,
            DISCORD_TOKEN: TEST_TOKEN, DISCORD_API_URL: fake.apiBase, DISCORD_REGISTER_COMMANDS: "0",
            DISCORD_SHARD_IDS: String(shard), DISCORD_SHARD_COUNT: "2",
        }, observer);
        bots.push({app, observer});
    }
});

afterAll(async () => {
    for (const {app} of bots) await app.stop();
    await database?.drop();
    await fake?.close();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe("two bot processes running shards 0 and 1 of 2", () => {
    it("each serve the guilds of their shard", async () => {
        expect(fake.identifies.map((identify) => identify.shard).sort()).toEqual([[0, 2], [1, 2]]);
        const guilds = [ids.guild, otherGuild];
        expect(guilds.map((guild) => shardOf(guild, 2)).sort()).toEqual([0, 1]);
        for (const [guild, channel] of [[ids.guild, ids.channel], [otherGuild, otherChannel]] as const) {
            const message: Record<string, unknown> = {...guildMessage(users.member, "hello"), guild_id: guild, channel_id: channel};
            fake.dispatch("MESSAGE_CREATE", message);
            const shard = shardOf(guild, 2);
            await fake.waitFor(() => bots[shard]!.observer.finished.has(message.id as string), 30_000, `the turn in guild ${guild}`);
            expect(bots[1 - shard]!.observer.finished.has(message.id as string)).toBe(false);
            const reply = fake.calls.find((call) => call.method === "POST" && (call.body?.message_reference as {message_id?: string} | undefined)?.message_id === message.id);
            expect(reply?.path).toContain(`/channels/${channel}/messages`);
        }
    });
});
