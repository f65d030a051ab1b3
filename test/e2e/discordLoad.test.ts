import {spawn} from "node:child_process";
import type {ChildProcess} from "node:child_process";
import {readFileSync, rmSync} from "node:fs";
import {createRequire} from "node:module";
import path from "node:path";
import {pathToFileURL} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {seededRandom} from "../helpers/seededRandom.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import type {FakeDiscord} from "./fakes/FakeDiscord.ts";
import {guildCreate, guildMessage, ids} from "./fakes/discordPayloads.ts";
import type {FakeUser} from "./fakes/discordPayloads.ts";
import {startFakeDiscord, TEST_TOKEN} from "./fakes/discordHarness.ts";
import {tinyBotDir, tinyBotEnv} from "./helpers/observedApp.ts";

// Load against the Discord fake: 1,000 mentions paced over 10 s, across 50 channels, from 200
// users, to the bot as `npm start` runs it (src/main.ts in its own process, default limits) on
// the tiny model. Every message gets exactly one answer, a reply or a "busy, try again in N s";
// none is dropped; resident memory stays bounded; the bot answers normally right after.
// Speed is not asserted (only counted and printed); the channel and author of each message
// come from a printed seed.
const mentions = 1000;
const channelCount = 50;
const userCount = 200;
const spreadMs = 10_000;
/** Resident growth allowed from the warmed-up bot to its peak under load. */
const maxGrowthBytes = 256 * 1024 * 1024;
const mainScript = path.join(import.meta.dirname, "../../src/main.ts");
// The bot runs in a directory of its own (no developer's .env), so tsx is named by its path.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const channels = Array.from({length: channelCount + 1}, (_, i) => String(500000000000000000n + BigInt(i)));
const people: FakeUser[] = Array.from({length: userCount + 1}, (_, i) => ({id: String(600000000000000000n + BigInt(i)), username: `user${i}`, roles: []}));

let fake: FakeDiscord;
let dir: string;
let database: {url: string; drop(): Promise<void>};
let bot: ChildProcess | undefined;
let stderr = "";

/** The bot's posts answering `messageId` (a reply and its continuations carry its reference). */
function answersTo(messageId: string) {
    return fake.calls.filter((call) => call.method === "POST" && call.status === 200 && /^\/channels\/\d+\/messages$/.test(call.path)
        && (call.body?.message_reference as {message_id?: string} | undefined)?.message_id === messageId);
}

function memoryOf(pid: number): {rss: number; peak: number} {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
    return {rss: kib("VmRSS"), peak: kib("VmHWM")};
}

beforeAll(async () => {
    dir = tinyBotDir("rwkv-discord-load-");
    database = await createThrowawayDatabase();
    fake = await startFakeDiscord({guilds: [{...guildCreate(), channels: channels.map((id, i) => ({id, type: 0, name: `load-${i}`}))}]});
    // Default limits (queue, per-conversation backlog, per-user cooldown, one edit a second per
    // message); the global edit budget at Discord's own 50 requests a second.
    bot = spawn(process.execPath, ["--import", tsx, mainScript], {
        cwd: dir, stdio: ["ignore", "ignore", "pipe"],
        env: {
            ...process.env, ...tinyBotEnv(dir), USER_COOLDOWN_MS: "1000", EDIT_MIN_INTERVAL_MS: "1000", EDITS_PER_SECOND: "50",
            ENGINE_SLOTS: "8", REPLY_MAX_TOKENS: "16", DATABASE_URL: database.url,
            DISCORD_TOKEN: TEST_TOKEN, DISCORD_API_URL: fake.apiBase, DISCORD_GUILD_ID: ids.guild,
        },
    });
    bot.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await fake.waitFor(() => fake.callsTo("PUT", /\/commands$/).length > 0 || bot?.exitCode !== null, 120_000, "the bot to log in");
    if (bot.exitCode !== null) throw new Error(`the bot exited: ${stderr}`);
}, 180_000);

afterAll(async () => {
    bot?.kill("SIGKILL");
    await fake?.close();
    await database?.drop();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

/** Mentions the bot and resolves to the final text of its one answer once the answer is posted. */
async function answered(payload: Record<string, unknown>, timeoutMs: number): Promise<void> {
    fake.dispatch("MESSAGE_CREATE", payload);
    await fake.waitFor(() => answersTo(payload.id as string).length > 0, timeoutMs, `an answer to ${String(payload.content)}`);
}

describe("the bot on Discord under load", () => {
    it("answers each of 1,000 mentions in 10 s from 200 users in 50 channels exactly once, in bounded memory", async () => {
        const pid = bot?.pid as number;
        // Warm up: the first answer loads the model's pages and the database connections.
        const warmUp = guildMessage(people[userCount]!, "hello", {channelId: channels[channelCount]});
        await answered(warmUp, 60_000);
        const before = memoryOf(pid);

        const random = seededRandom("discord load");
        const sent: Record<string, unknown>[] = [];
        const started = Date.now();
        for (let i = 0; i < mentions; i += 1) {
            const wait = started + (i * spreadMs) / mentions - Date.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            const message = guildMessage(people[random.below(userCount)]!, `load ${i}`, {channelId: channels[random.below(channelCount)]});
            sent.push(message);
            fake.dispatch("MESSAGE_CREATE", message);
        }
        const dispatchedMs = Date.now() - started;
        await fake.waitFor(() => sent.every((message) => answersTo(message.id as string).length > 0), 400_000, "an answer to every mention");
        const answeredMs = Date.now() - started;

        // Right after: a normal reply, not a busy notice.
        const after = guildMessage(people[userCount]!, "are you still there?", {channelId: channels[channelCount]});
        await answered(after, 60_000);
        const under = memoryOf(pid);

        // A graceful stop finishes every reply in flight; after it nothing more can arrive.
        bot?.kill("SIGTERM");
        await new Promise((resolve) => bot?.once("exit", resolve));

        const finals = sent.map((message) => {
            const answers = answersTo(message.id as string);
            expect(answers, `answers to ${String(message.content)}`).toHaveLength(1);
            return fake.messages.get((answers[0]?.response as {id: string}).id)?.content ?? "";
        });
        const busy = finals.filter((text) => /try again in \d+ s\.$/.test(text));
        const failures = finals.filter((text) => text.startsWith("⚠️") && !busy.includes(text));
        expect(failures).toEqual([]);
        expect(finals.every((text) => text.trim() !== "")).toBe(true);
        const afterText = fake.messages.get((answersTo(after.id as string)[0]?.response as {id: string}).id)?.content ?? "";
        expect(afterText.startsWith("⚠️")).toBe(false);
        expect(afterText.trim()).not.toBe("");
        // Nothing else was posted: one answer per message, the warm-up and the last one included.
        expect(fake.callsTo("POST", /^\/channels\/\d+\/messages$/).filter((call) => call.status === 200)).toHaveLength(mentions + 2);

        const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
        console.log(`discord load: ${mentions} mentions dispatched in ${(dispatchedMs / 1000).toFixed(1)} s, all answered after ${(answeredMs / 1000).toFixed(1)} s: `
            + `${mentions - busy.length} replies, ${busy.length} busy notices (${busy.filter((t) => t.includes("too fast")).length} cooldown, `
            + `${busy.filter((t) => t.includes("still on")).length} conversation backlog, ${busy.filter((t) => t.includes("busy right now")).length} queue full); `
            + `resident ${mib(before.rss)} warmed up, peak ${mib(under.peak)}, ${mib(under.rss)} after`);
        expect(under.peak - before.rss).toBeLessThan(maxGrowthBytes);
    }, 600_000);
});
