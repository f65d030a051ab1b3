import {rmSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import type { FakeSlack} from "./fakes/FakeSlack.ts";
import {appMentionEnvelope, slashCommandFields} from "./fakes/FakeSlack.ts";
import {placeholderEdited, startSlackTeam} from "./helpers/slackTeam.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";

// The whole bot in Slack Socket Mode (SLACK_APP_TOKEN): the real Bolt opens its socket through
// the loopback Slack's apps.connections.open and receives every event and command over it; the
// real engine on the tiny fp32 fixture model (greedy) and the real embedded database answer.
let fake: FakeSlack;
let dir: string;
let app: App | undefined;
const observer = new TurnObserver();
let nextTs = 1;

async function startBot(): Promise<void> {
    ({app} = await startObservedApp({
        ...tinyBotEnv(dir), SLACK_BOT_TOKEN: "xoxb-e2e", SLACK_APP_TOKEN: "xapp-e2e", SLACK_API_URL: fake.apiUrl,
    }, observer));
}

/** Mentions the bot in `channel` over the socket and resolves to its final answer in the thread. */
async function ask(channel: string, text: string, options: {files?: {name: string; url: string; size: number}[]; user?: string} = {}): Promise<string> {
    const ts = `400.${String(nextTs++).padStart(6, "0")}`;
    const eventId = `EvSock${ts}`;
    await fake.sendEnvelope("events_api", appMentionEnvelope({eventId, channel, text: `<@UBOT> ${text}`, ts, user: options.user ?? "UADMIN", ...(options.files === undefined ? {} : {files: options.files})}));
    await fake.waitFor(() => observer.finished.has(eventId), 30_000);
    return fake.thread(channel, ts).map((message) => message.text).join("");
}

/** Runs `/rwkv <text>` over the socket; resolves once the core has finished with it. */
async function slash(channel: string, user: string, text: string): Promise<void> {
    const triggerId = `trigSock${nextTs++}`;
    // Socket Mode acknowledges on the socket: the envelope's ack comes back before the work is done.
    await fake.sendEnvelope("slash_commands", slashCommandFields({text, channel, user, triggerId, responseUrl: fake.responseUrl(triggerId)}));
    await fake.waitFor(() => observer.finished.has(triggerId), 30_000);
}

beforeAll(async () => {
    dir = tinyBotDir("rwkv-slack-socket-e2e-");
    fake = await startSlackTeam();
    await startBot();
});

afterAll(async () => {
    await app?.stop();
    await fake?.close();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe("the bot on Slack in Socket Mode, end to end", () => {
    it("streams a mention's reply, exports, imports and continues after a restart", async () => {
        expect(fake.callsOf("apps.connections.open")[0]?.token).toBe("xapp-e2e");
        // Streamed: the core sends growing text, and the placeholder shows the reply before the turn completes.
        observer.beforeComplete = placeholderEdited(fake, "C1");
        const first = await ask("C1", "hi");
        expect(observer.streamed("EvSock400.000001")).toBe(true);
        expect(fake.callsOf("chat.postMessage")[0]?.args).toMatchObject({channel: "C1", thread_ts: "400.000001", text: "_…thinking_"});
        // Two channels with the same history are the control for each other (greedy decoding).
        expect(await ask("C2", "hi")).toBe(first);
        const more = await ask("C1", "more");
        expect(await ask("C2", "more")).toBe(more);

        // An admin exports (a file in the channel) and resets; the channel starts afresh.
        const uploadsBefore = fake.uploads.length;
        await slash("C1", "UADMIN", "export");
        const exported = await fake.waitFor(() => fake.uploads.slice(uploadsBefore).find((upload) => upload.channel === "C1" && upload.bytes !== null));
        await slash("C1", "UADMIN", "reset");
        expect(await ask("C1", "hi")).toBe(first);

        // A member's import is refused without a download; an admin's brings the conversation back.
        const url = fake.hostFile(exported.filename, exported.bytes as Uint8Array);
        const file = {name: exported.filename, url, size: exported.bytes?.length ?? 0};
        const downloads = fake.downloads;
        expect(await ask("C1", "/import", {files: [file], user: "UALICE"})).toBe(":warning: Sorry, only admins can use import here.");
        expect(fake.downloads).toBe(downloads);
        expect(await ask("C1", "/import", {files: [file]})).toMatch(/^Imported /);

        // After a restart the bot reconnects its socket and both channels continue from their persisted state.
        await app?.stop();
        app = undefined;
        await startBot();
        expect(fake.callsOf("apps.connections.open").length).toBeGreaterThanOrEqual(2);
        const again = await ask("C1", "again");
        expect(await ask("C2", "again")).toBe(again);
        expect(await ask("C3", "again")).not.toBe(again);
    });
});
