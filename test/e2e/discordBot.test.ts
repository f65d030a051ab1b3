import {rmSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import {seedFormatTurns} from "../helpers/seedFormat.ts";
import type {FakeDiscord, RecordedCall} from "./fakes/FakeDiscord.ts";
import {dmMessage, guildMessage, ids, slashCommand, users} from "./fakes/discordPayloads.ts";
import type {FakeUser} from "./fakes/discordPayloads.ts";
import {startFakeDiscord, TEST_TOKEN} from "./fakes/discordHarness.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";

// The whole bot as `npm start` composes it (config → createApp → createAdapters), with the
// real discord.js against a loopback Discord, the real engine on the tiny fp32 fixture model
// (greedy, byte-level vocabulary) and the real embedded database in a temporary directory.
// A DM with the same history is the control for a channel: greedy decoding of the same
// state gives the same answer.
let fake: FakeDiscord;
let dir: string;
let app: App | undefined;
const observer = new TurnObserver();
const finished = observer.finished;

async function startBot(): Promise<void> {
    ({app} = await startObservedApp({
        ...tinyBotEnv(dir),
        DISCORD_TOKEN: TEST_TOKEN, DISCORD_API_URL: fake.apiBase, DISCORD_GUILD_ID: ids.guild, DISCORD_ALLOW_DMS: "1",
    }, observer));
}

/** Sends a message and resolves to the bot's reply to it, as last edited. */
async function send(payload: Record<string, unknown>): Promise<string> {
    fake.dispatch("MESSAGE_CREATE", payload);
    await fake.waitFor(() => finished.has(payload.id as string), 30_000, `the turn ${String(payload.content)}`);
    const reply = fake.calls.find((call) => call.method === "POST" && call.status === 200 && (call.body?.message_reference as {message_id?: string} | undefined)?.message_id === payload.id);
    return fake.messages.get((reply?.response as {id: string} | undefined)?.id ?? "")?.content ?? "(no reply)";
}

const ask = (text: string, user: FakeUser = users.member, channelId: string = ids.channel) => send(guildMessage(user, text, {channelId}));
const askDm = (text: string, channelId: string = ids.dmChannel) => send(dmMessage(users.member, text, channelId));

/** Runs `/rwkv …` and resolves to the deferred reply's last edit (text and files). */
async function slash(payload: Record<string, unknown>): Promise<RecordedCall> {
    fake.dispatch("INTERACTION_CREATE", payload);
    await fake.waitFor(() => finished.has(payload.id as string), 30_000, "the slash command");
    const edits = fake.calls.filter((call) => call.method === "PATCH" && call.path.endsWith(`/${String(payload.token)}/messages/@original`));
    const last = edits.at(-1);
    if (last === undefined) throw new Error("the slash command was not answered");
    return last;
}

beforeAll(async () => {
    dir = tinyBotDir("rwkv-discord-e2e-");
    fake = await startFakeDiscord();
    await startBot();
});

afterAll(async () => {
    await app?.stop();
    await fake?.close();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe("the bot on Discord, end to end", () => {
    it("keeps, refuses, resets, exports, imports and restores channel state", async () => {
        // A mention is answered with typing first, a reply that pings nobody, and the same
        // greedy answer as a DM with the same history; a 429 on the way loses nothing.
        fake.injectRateLimit(1, (call) => call.method === "POST" && call.path === `/channels/${ids.channel}/messages`);
        // Streamed: the core sends growing text, and the channel shows the reply before the turn completes.
        const mention = guildMessage(users.member, "hi");
        observer.beforeComplete = async () => {
            await fake.waitFor(() => [...fake.messages.values()].some((message) => (message.message_reference as {message_id?: string} | undefined)?.message_id === mention.id && message.content !== ""), 10_000, "the streamed reply");
        };
        const first = await send(mention);
        expect(first).not.toBe("(no reply)");
        expect(observer.streamed(mention.id as string)).toBe(true);
        expect(fake.calls.some((call) => call.status === 429)).toBe(true);
        expect(fake.callsTo("POST", new RegExp(`^/channels/${ids.channel}/typing$`)).length).toBeGreaterThan(0);
        expect(fake.callsTo("POST", new RegExp(`^/channels/${ids.channel}/messages$`)).every((call) => JSON.stringify(call.body?.allowed_mentions) === JSON.stringify({parse: []}))).toBe(true);
        expect(await askDm("hi")).toBe(first);

        // A thread starts from its channel's state; a fresh conversation does not.
        const inThread = await ask("more", users.member, ids.thread);
        expect(await ask("more")).toBe(inThread);
        expect(await askDm("more")).toBe(inThread);
        expect(await askDm("more", ids.otherDmChannel)).not.toBe(inThread);

        // A member's reset is refused, by slash command and by mention, and changes nothing.
        expect((await slash(slashCommand(users.member, "reset"))).body?.content).toBe("⚠️ Sorry, only admins can use reset here.");
        expect(await ask("/reset")).toBe("⚠️ Sorry, only admins can use reset here.");
        // A member's attached file is refused without being downloaded.
        const downloads = fake.downloads;
        expect(await send(guildMessage(users.member, "/import", {attachments: [fake.attachment("big.rwkvconv", new Uint8Array(512 * 1024))]})))
            .toBe("⚠️ Sorry, only admins can use import here.");
        expect(fake.downloads).toBe(downloads);
        const unchanged = await ask("still");
        expect(await askDm("still")).toBe(unchanged);

        // An admin exports (a file on the reply), resets (the channel starts afresh), and imports the export back.
        const exported = await slash(slashCommand(users.admin, "export"));
        expect(exported.body?.content).toMatch(/^Exported \d+ bytes\.$/);
        const file = exported.files[0];
        expect(file?.name).toBe(`discord_${ids.channel}.rwkvconv`);
        expect(file?.bytes.byteLength).toBe(Number(/(\d+)/.exec(String(exported.body?.content))?.[1]));
        // The transcript alone, as fine-tuning JSONL: one line, the channel's exchanges in the seed's format.
        const jsonl = await slash(slashCommand(users.admin, "export", {format: "jsonl"}));
        expect(jsonl.body?.content).toBe("Exported 3 exchange(s) as fine-tuning JSONL.");
        expect(jsonl.files[0]?.name).toBe(`discord_${ids.channel}.jsonl`);
        const lines = Buffer.from(jsonl.files[0]!.bytes).toString("utf8").split("\n");
        expect(lines.at(-1)).toBe("");
        expect(lines).toHaveLength(2);
        const texts = seedFormatTurns(lines[0]!);
        expect(texts.filter((_, i) => i % 2 === 0)).toEqual(["hi", "more", "still"]);
        expect(texts[1]).toBe(first);
        expect(await ask("/reset", users.manager)).toBe("Conversation reset.");
        expect(await ask("hi")).toBe(first);
        const imported = await slash(slashCommand(users.owner, "import", {attachment: fake.attachment(file?.name ?? "", file?.bytes ?? new Uint8Array())}));
        expect(imported.body?.content).toMatch(/^Imported /);
        const afterImport = await ask("again");
        expect(await askDm("again")).toBe(afterImport);

        // After a restart the channel continues from the same persisted state.
        await app?.stop();
        app = undefined;
        await startBot();
        const afterRestart = await ask("once more");
        expect(await askDm("once more")).toBe(afterRestart);
        expect(await askDm("once more", ids.otherDmChannel)).not.toBe(afterRestart);
    });

    it("delivers the reply in flight at shutdown in full, and answers a message that arrives meanwhile", async () => {
        let stopping: Promise<void> | undefined;
        let late: string | undefined;
        // The shutdown starts as the reply is about to be delivered; another message comes in before it is.
        observer.beforeComplete = async () => {
            stopping = app?.stop();
            late = await ask("too late", users.member, ids.thread);
        };
        const reply = await ask("finish this");
        await stopping;
        app = undefined;
        expect(late).toBe("⚠️ The bot is shutting down; try again in a minute.");
        await startBot();
        const logged = await app!.store.transcript(`discord:${ids.channel}`);
        expect(logged.slice(-2).map((turn) => turn.role)).toEqual(["user", "assistant"]);
        expect(reply).toBe(logged.at(-1)!.text);
    });
});
