import {createHash} from "node:crypto";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {DiscordAdapter} from "../../adapters/discord/DiscordAdapter.ts";
import type {ReplySink} from "../../src/core/ReplySink.ts";
import type {Turn} from "../../src/core/Turn.ts";
import {ConfigError, UserFacingError} from "../../src/errors/BotError.ts";
import type {BotError} from "../../src/errors/BotError.ts";
import {EditThrottle} from "../../adapters/shared/EditThrottle.ts";
import type {FakeDiscord} from "./fakes/FakeDiscord.ts";
import {dmMessage, guildMessage, ids, slashCommand, users} from "./fakes/discordPayloads.ts";
import {fakeDiscordConfig, recordingLogger, startFakeDiscord} from "./fakes/discordHarness.ts";

// The real discord.js client and DiscordAdapter against FakeDiscord, with a scripted core.

// The spacing of edits is the throttle's, tested exactly on a controlled clock in
// test/unit/adapters/EditThrottle.test.ts; here the order and content of what reaches Discord.
const EDIT_INTERVAL_MS = 250;
const TYPING_INTERVAL_MS = 150;

const words = (count: number) => Array.from({length: count}, (_, i) => `word${i}`).join(" ");

const turns: Turn[] = [];

/** Answers by the first word of the turn. */
async function scriptedCore(turn: Turn, sink: ReplySink): Promise<void> {
    turns.push(turn);
    const [verb = "", ...rest] = turn.text.split(" ");
    switch (turn.command?.name ?? verb) {
        case "stream": {
            // Driven by what the fake received, never by sleeping: typing until it was resent,
            // then bursts of updates, each burst waiting for the edit that carries its newest text.
            const typed = typingCalls().length;
            const [posted, edited] = [postCalls().length, editCalls().length];
            await sink.typing();
            await fake.waitFor(() => typingCalls().length >= typed + 2 || undefined, 5000, "a resent typing indicator");
            const count = Number(rest[0] ?? 30);
            await sink.update(words(1));
            await waitForRequest(words(1), () => postCalls().slice(posted));
            for (let i = 2; i <= count; i += 1) {
                // No await on a timer inside a burst: the throttle's timers cannot fire before its end.
                await sink.update(words(i));
                if (i % 10 === 0 && i < count) await waitForRequest(words(i), () => editCalls().slice(edited));
            }
            return sink.complete(words(count));
        }
        case "grow": {
            for (let i = 1; i <= 5; i += 1) {
                await sink.update(words(i * 100));
                await fake.waitFor(() => [...fake.messages.values()].find((m) => m.content.endsWith(`word${i * 100 - 1}`)), 5000, `${i * 100} words shown`);
            }
            return sink.complete(words(500));
        }
        case "whoami":
            return sink.complete(`${turn.conversation} parent=${turn.parent ?? "-"} admin=${turn.author.isAdmin} text=${turn.text}`);
        case "ping":
            return sink.complete("@everyone <@300000000000000004> hello");
        case "busy":
            return sink.fail(new UserFacingError("scheduler/overloaded", "The model is busy; try again in a minute."));
        case "crash":
            throw new Error("secret internals");
        case "wait":
            await new Promise((resolve) => turn.signal.addEventListener("abort", resolve, {once: true}));
            return sink.fail(turn.signal.reason as BotError);
        case "export":
            return sink.complete("Here is the state.", {name: "state.rwkv", bytes: exportBytes});
        case "import": {
            const bytes = await turn.attachment?.read() ?? new Uint8Array();
            return sink.complete(`imported ${turn.attachment?.name} ${bytes.byteLength} ${sha(bytes)} admin=${turn.author.isAdmin}`);
        }
        case "reset":
            return turn.author.isAdmin ? sink.complete("reset done") : sink.fail(new UserFacingError("command/not_admin", "Only server admins can reset."));
        default:
            return sink.complete(`echo ${turn.text}`);
    }
}

const exportBytes = new Uint8Array(new Float32Array([1.5, -2.25, Math.PI, 0, -0]).buffer);
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);

let fake: FakeDiscord;
let adapter: DiscordAdapter;
let throttle: EditThrottle;
const log = recordingLogger();

beforeAll(async () => {
    fake = await startFakeDiscord();
    throttle = new EditThrottle({minIntervalMs: EDIT_INTERVAL_MS, globalEditsPerSecond: 50});
    adapter = new DiscordAdapter({config: fakeDiscordConfig(fake), editThrottle: throttle, logger: log, typingIntervalMs: TYPING_INTERVAL_MS});
    await adapter.start(scriptedCore);
});

afterAll(async () => {
    await adapter?.stop();
    await throttle?.stop();
    await fake?.close();
});

const typingCalls = () => fake.callsTo("POST", new RegExp(`^/channels/${ids.channel}/typing$`));
const postCalls = () => fake.callsTo("POST", /\/channels\/\d+\/messages$/);
const editCalls = () => fake.callsTo("PATCH", /\/messages\/\d+$/);
/** Waits until one of `calls()` carries `text`. */
const waitForRequest = (text: string, calls: () => ReturnType<typeof editCalls>) =>
    fake.waitFor(() => calls().find((call) => call.body?.content === text), 5000, `a request with ${text.split(" ").length} words`);

/** REST calls since `since` with this method whose path matches. */
function callsSince(since: number, method: string, path: RegExp) {
    return fake.callsTo(method, path).filter((call) => call.at >= since);
}

/** The bot's newest message in `channelId` whose content satisfies `pred`. */
function waitForMessage(channelId: string, pred: (content: string) => boolean, what: string) {
    return fake.waitFor(() => [...fake.messages.values()].reverse().find((m) => m.channel_id === channelId && pred(m.content)), 5000, what);
}

/** Runs a slash command and waits for its deferred reply to be filled. */
async function slash(payload: Record<string, unknown>): Promise<string> {
    const since = Date.now();
    fake.dispatch("INTERACTION_CREATE", payload);
    const edit = await fake.waitFor(() => callsSince(since, "PATCH", new RegExp(`^/webhooks/${ids.application}/${String(payload.token)}/messages/@original$`)).at(-1), 5000, "the interaction reply");
    return String(edit.body?.content ?? "");
}

describe("DiscordAdapter against the fake gateway and REST", () => {
    it("logs in with the intents, resolves the gateway from the fake, and registers /rwkv in the server", () => {
        expect(fake.identifies).toHaveLength(1);
        // Guilds | GuildMessages | DirectMessages | MessageContent.
        expect(fake.identifies[0]?.intents).toBe(1 | 512 | 4096 | 32768);
        const [registration] = fake.callsTo("PUT", /^\/applications\/\d+\/guilds\/\d+\/commands$/);
        expect(registration?.path).toBe(`/applications/${ids.application}/guilds/${ids.guild}/commands`);
        const command = (registration?.body as unknown as Record<string, unknown>[])[0] as {name: string, default_member_permissions: string, options: {name: string}[]};
        expect(command.name).toBe("rwkv");
        expect(command.default_member_permissions).toBe("32");
        expect(command.options.map((option) => option.name)).toEqual(["reset", "export", "import", "status", "settings", "stop", "persona"]);
    });

    it("answers a mention: typing resent until the first text, then one message whose edits carry only each burst's newest text", async () => {
        const since = Date.now();
        const message = guildMessage(users.member, "stream 30");
        fake.dispatch("MESSAGE_CREATE", message);
        const posted = await fake.waitFor(() => [...fake.messages.values()].find((m) => m.channel_id === ids.channel && m.content === words(30)), 8000, "the final edit");

        const typing = typingCalls().filter((call) => call.at >= since);
        expect(typing.length).toBeGreaterThanOrEqual(2);
        const creates = fake.callsTo("POST", new RegExp(`^/channels/${ids.channel}/messages$`)).filter((call) => call.at >= since);
        expect(creates).toHaveLength(1);
        // Typing stops with the first text.
        expect(typing.every((call) => call.at <= (creates[0]?.at ?? 0))).toBe(true);
        expect(creates[0]?.body?.message_reference).toMatchObject({message_id: message.id});
        expect(creates[0]?.body?.allowed_mentions).toEqual({parse: []});

        // 30 updates in three bursts: the post, then one edit per burst with its newest text,
        // none of the 26 texts in between.
        const edits = fake.callsTo("PATCH", new RegExp(`/messages/${posted.id}$`));
        expect(creates[0]?.body?.content).toBe(words(1));
        expect(edits.map((call) => call.body?.content)).toEqual([words(10), words(20), words(30)]);
        expect(edits.every((call) => JSON.stringify(call.body?.allowed_mentions) === JSON.stringify({parse: []}))).toBe(true);
    });

    it("continues a reply over 2000 characters in follow-up messages cut at line breaks", async () => {
        const since = Date.now();
        const lines = Array.from({length: 120}, (_, i) => `line ${i} ${"x".repeat(30)}`);
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, `echo-long ${lines.join("\n")}`));
        await fake.waitFor(() => callsSince(since, "POST", /\/channels\/\d+\/messages$/).length >= 3 || undefined, 5000, "three parts");
        const parts = callsSince(since, "POST", /\/channels\/\d+\/messages$/).map((call) => String(call.body?.content));
        expect(parts.every((part) => part.length <= 2000)).toBe(true);
        expect(parts.join("\n")).toBe(`echo echo-long ${lines.join("\n")}`);
        expect(parts.slice(1).every((part) => part.startsWith("line "))).toBe(true);
        expect(callsSince(since, "POST", /messages$/).every((call) => call.status === 200)).toBe(true);
    });

    it("streams past 2000 characters into a second message, edits included", async () => {
        const since = Date.now();
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "grow"));
        const second = await waitForMessage(ids.channel, (content) => content.endsWith("word499"), "the second part");
        const [firstId] = callsSince(since, "POST", /messages$/).map((call) => (call.response as {id: string}).id);
        expect(`${fake.messages.get(firstId ?? "")?.content} ${second.content}`).toBe(words(500));
        const requests = [...callsSince(since, "POST", /messages$/), ...callsSince(since, "PATCH", /messages\/\d+$/)];
        expect(requests.every((call) => call.status === 200 && String(call.body?.content).length <= 2000)).toBe(true);
        expect(callsSince(since, "POST", /messages$/)).toHaveLength(2);
    });

    it("keys a thread by its id with the channel as parent, and a DM by its channel", async () => {
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "whoami in thread", {channelId: ids.thread}));
        const inThread = await waitForMessage(ids.thread, (content) => content.startsWith("discord:"), "the thread reply");
        expect(inThread.content).toBe(`discord:${ids.thread} parent=discord:${ids.channel} admin=false text=whoami in thread`);

        fake.dispatch("MESSAGE_CREATE", dmMessage(users.member, "whoami in a DM"));
        const inDm = await waitForMessage(ids.dmChannel, (content) => content.startsWith("discord:"), "the DM reply");
        expect(inDm.content).toBe(`discord:dm:${ids.dmChannel} parent=- admin=true text=whoami in a DM`);
    });

    it("computes the admin flag from roles: Administrator, Manage Server and the owner are admins, a member is not", async () => {
        for (const [user, admin] of [[users.admin, true], [users.manager, true], [users.owner, true], [users.member, false]] as const) {
            const text = `whoami as ${user.username}`;
            fake.dispatch("MESSAGE_CREATE", guildMessage(user, text));
            const answer = await waitForMessage(ids.channel, (content) => content.endsWith(text), text);
            expect(answer.content).toContain(`admin=${admin}`);
        }
    });

    it("ignores messages without a mention and messages from bots", async () => {
        const before = turns.length;
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "no mention here", {mentionBot: false}));
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.otherBot, "whoami from a bot"));
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "whoami marker"));
        await waitForMessage(ids.channel, (content) => content.endsWith("whoami marker"), "the marker reply");
        expect(turns.slice(before).map((turn) => turn.text)).toEqual(["whoami marker"]);
    });

    it("never lets model output ping anyone", async () => {
        const since = Date.now();
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "ping"));
        await waitForMessage(ids.channel, (content) => content.startsWith("@everyone"), "the ping reply");
        const [create] = callsSince(since, "POST", /messages$/);
        expect(create?.body?.allowed_mentions).toEqual({parse: []});
    });

    it("shows a user-facing failure as is and any other failure as a generic line, logging the details", async () => {
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "busy"));
        await waitForMessage(ids.channel, (content) => content === "⚠️ The model is busy; try again in a minute.", "the busy notice");
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "crash"));
        const generic = await waitForMessage(ids.channel, (content) => content.startsWith("⚠️ Something went wrong"), "the generic notice");
        expect(generic.content).not.toContain("secret");
        expect(log.lines.some((line) => line.startsWith("error") && line.includes("secret internals"))).toBe(true);
    });

    it("aborts a turn when its message is deleted", async () => {
        const message = guildMessage(users.member, "wait");
        fake.dispatch("MESSAGE_CREATE", message);
        await fake.waitFor(() => turns.find((turn) => turn.id === message.id), 5000, "the turn");
        fake.dispatch("MESSAGE_DELETE", {id: message.id, channel_id: ids.channel, guild_id: ids.guild});
        const turn = turns.find((t) => t.id === message.id);
        await fake.waitFor(() => turn?.signal.aborted, 5000, "the abort");
        expect((turn?.signal.reason as BotError).code).toBe("turn/aborted");
    });

    it("absorbs a 429 from Discord without losing the reply", async () => {
        const since = Date.now();
        fake.injectRateLimit(2);
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "stream 12"));
        await waitForMessage(ids.channel, (content) => content === words(12), "the final text after 429s");
        expect(callsSince(since, "POST", /./).concat(callsSince(since, "PATCH", /./)).filter((call) => call.status === 429)).toHaveLength(2);
    });

    it("resumes after the gateway drops the connection", async () => {
        fake.dropConnection(4000);
        await fake.waitFor(() => fake.resumes === 1, 5000, "a RESUME");
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "whoami after resume"));
        await waitForMessage(ids.channel, (content) => content.endsWith("whoami after resume"), "the reply after resuming");
        expect(log.lines.some((line) => line.includes("resumed"))).toBe(true);
        // What /readyz reports for the platform.
        expect(adapter.connected).toBe(true);
    });
});

describe("/rwkv slash commands", () => {
    it("defers ephemerally, then answers with the admin flag from the interaction's permissions", async () => {
        const since = Date.now();
        const refused = slashCommand(users.member, "reset");
        expect(await slash(refused)).toBe("⚠️ Only server admins can reset.");
        const [callback] = callsSince(since, "POST", /^\/interactions\/\d+\/[^/]+\/callback$/);
        expect(callback?.body).toMatchObject({type: 5, data: {flags: 64}});
        // Discord's computed permissions win over what the client's role cache would say.
        expect(await slash(slashCommand(users.member, "reset", {permissions: 1n << 5n}))).toBe("reset done");
        expect(await slash(slashCommand(users.admin, "reset"))).toBe("reset done");
        expect(turns.at(-1)?.command).toEqual({name: "reset", args: ""});
    });

    it("export posts the file as an attachment whose bytes round-trip", async () => {
        const since = Date.now();
        expect(await slash(slashCommand(users.admin, "export"))).toBe("Here is the state.");
        const upload = callsSince(since, "PATCH", /@original$/).find((call) => call.files.length > 0);
        expect(upload?.files[0]?.name).toBe("state.rwkv");
        expect(Buffer.from(upload?.files[0]?.bytes ?? []).equals(Buffer.from(exportBytes))).toBe(true);
        expect(upload?.body?.allowed_mentions).toEqual({parse: []});
    });

    it("import hands the attached file's bytes to the core", async () => {
        const bytes = new Uint8Array(4096).map((_, i) => (i * 7) % 256);
        const file = fake.attachment("state.rwkv", bytes);
        expect(await slash(slashCommand(users.manager, "import", {attachment: file}))).toBe(`imported state.rwkv 4096 ${sha(bytes)} admin=true`);
    });

    it("mention commands carry attachments too", async () => {
        const bytes = new Uint8Array([1, 2, 3, 4, 5]);
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.admin, "import", {attachments: [fake.attachment("mine.rwkv", bytes)]}));
        await waitForMessage(ids.channel, (content) => content === `imported mine.rwkv 5 ${sha(bytes)} admin=true`, "the import reply");
    });

    it("refuses a file over the size limit visibly, declared or actual, without downloading a declared one", async () => {
        const downloads = fake.downloads;
        const file = fake.attachment("huge.rwkv", new Uint8Array(2 * 1024 * 1024));
        expect(await slash(slashCommand(users.admin, "import", {attachment: file}))).toBe("⚠️ That file is too large (max 1 MB).");
        expect(fake.downloads).toBe(downloads);
        const understated = {...fake.attachment("liar.rwkv", new Uint8Array(2 * 1024 * 1024)), size: 10};
        expect(await slash(slashCommand(users.admin, "import", {attachment: understated}))).toBe("⚠️ That file is too large (max 1 MB).");
    });

    it("hands over an attachment without downloading it until the core reads it", async () => {
        const downloads = fake.downloads;
        fake.dispatch("MESSAGE_CREATE", guildMessage(users.member, "whoami lazy", {attachments: [fake.attachment("x.rwkv", new Uint8Array(64))]}));
        await waitForMessage(ids.channel, (content) => content.endsWith("admin=false text=whoami lazy"), "the whoami reply");
        expect(turns.find((turn) => turn.text === "whoami lazy")?.attachment).toMatchObject({name: "x.rwkv", size: 64});
        expect(fake.downloads).toBe(downloads);
    });

    it("keys a command in a thread by the thread, with its channel as parent", async () => {
        const payload = slashCommand(users.admin, "status", {channelId: ids.thread});
        expect(await slash(payload)).toBe("echo status");
        const turn = turns.find((t) => t.id === payload.id);
        expect(turn?.conversation).toBe(`discord:${ids.thread}`);
        expect(turn?.parent).toBe(`discord:${ids.channel}`);
    });

    it("passes settings changes as the command's arguments", async () => {
        expect(await slash(slashCommand(users.admin, "settings", {changes: "temperature=0.5"}))).toBe("echo settings temperature=0.5");
    });
});

describe("start-up failures", () => {
    it("names DISCORD_TOKEN when Discord rejects the token", async () => {
        const other = await startFakeDiscord();
        const bad = new DiscordAdapter({config: {...fakeDiscordConfig(other), token: "wrong"}, editThrottle: throttle, logger: recordingLogger()});
        try {
            const failure = await bad.start(scriptedCore).then(() => null, (error: unknown) => error);
            expect(failure).toBeInstanceOf(ConfigError);
            expect((failure as ConfigError).message).toContain("DISCORD_TOKEN");
            expect((failure as ConfigError).message).not.toContain("wrong");
        } finally {
            await bad.stop();
            await other.close();
        }
    });

    it("explains a refused Message Content intent", async () => {
        const other = await startFakeDiscord({refusedIntents: 1 << 15});
        const refused = new DiscordAdapter({config: fakeDiscordConfig(other), editThrottle: throttle, logger: recordingLogger()});
        try {
            const failure = await refused.start(scriptedCore).then(() => null, (error: unknown) => error);
            expect(failure).toBeInstanceOf(ConfigError);
            expect((failure as ConfigError).message).toContain("Message Content intent");
        } finally {
            await refused.stop();
            await other.close();
        }
    });
});
