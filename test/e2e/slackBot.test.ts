import {rmSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import type {App} from "../../src/app/createApp.ts";
import type { FakeSlack} from "./fakes/FakeSlack.ts";
import {appMentionEnvelope, signedPost, slashCommandFields} from "./fakes/FakeSlack.ts";
import {placeholderEdited, startSlackTeam} from "./helpers/slackTeam.ts";
import {startObservedApp, tinyBotDir, tinyBotEnv, TurnObserver} from "./helpers/observedApp.ts";

// The whole bot as `npm start` composes it (config → createApp → createAdapters), with the
// real Bolt against a loopback Slack (HTTP mode), the real engine on the tiny fp32 fixture model
// (greedy, byte-level vocabulary) and the real embedded database in a temporary directory.
const secret = "e2e-signing-secret";

let fake: FakeSlack;
let dir: string;
let app: App | undefined;
let eventsUrl = "";
const observer = new TurnObserver();
const finished = observer.finished;
let nextTs = 1;

async function startBot(): Promise<void> {
    const started = await startObservedApp({
        ...tinyBotEnv(dir),
        SLACK_BOT_TOKEN: "xoxb-e2e", SLACK_SIGNING_SECRET: secret, SLACK_PORT: "0", SLACK_HOST: "127.0.0.1",
        SLACK_API_URL: fake.apiUrl, SLACK_BOT_USER_ID: "UBOT", SLACK_BOT_ID: "BBOT",
    }, observer);
    app = started.app;
    const [slack] = started.adapters as SlackAdapter[];
    expect(slack?.platform).toBe("slack");
    eventsUrl = `http://127.0.0.1:${slack?.port}/slack/events`;
}

/** Mentions the bot in `channel` and resolves to its final answer in the thread. */
async function ask(channel: string, text: string, files?: {name: string; url: string; size: number}[], user = "UADMIN"): Promise<string> {
    const ts = `300.${String(nextTs++).padStart(6, "0")}`;
    const eventId = `EvBot${ts}`;
    const response = await signedPost(eventsUrl, JSON.stringify(appMentionEnvelope({eventId, channel, text: `<@UBOT> ${text}`, ts, user, ...(files === undefined ? {} : {files})})), {secret, contentType: "application/json"});
    expect(response.status).toBe(200);
    await fake.waitFor(() => finished.has(eventId), 30_000);
    return fake.thread(channel, ts).map((message) => message.text).join("");
}

/** Runs `/rwkv <text>` in `channel` as `user`; resolves to its trigger id once the core has finished with it. */
async function slash(channel: string, user: string, text: string): Promise<string> {
    const triggerId = `trigBot${nextTs++}`;
    const response = await signedPost(eventsUrl, new URLSearchParams(slashCommandFields({text, channel, user, triggerId, responseUrl: fake.responseUrl(triggerId)})).toString(), {secret, contentType: "application/x-www-form-urlencoded"});
    expect(response.status).toBe(200);
    await fake.waitFor(() => finished.has(triggerId), 30_000);
    return triggerId;
}

beforeAll(async () => {
    dir = tinyBotDir("rwkv-slack-e2e-");
    fake = await startSlackTeam();
    await startBot();
});

afterAll(async () => {
    await app?.stop();
    await fake?.close();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe("the bot on Slack, end to end", () => {
    it("keeps, refuses, resets, exports, imports and restores channel state", async () => {
        // Streamed: the core sends growing text, and the placeholder shows the reply before the turn completes.
        observer.beforeComplete = placeholderEdited(fake, "C1");
        const first = await ask("C1", "hi");
        expect(observer.streamed("EvBot300.000001")).toBe(true);
        // Two channels with the same history are the control for each other (greedy decoding).
        expect(await ask("C2", "hi")).toBe(first);

        // A member's reset is refused privately, acknowledged first, and changes nothing.
        const refused = await slash("C1", "UALICE", "reset");
        expect(fake.responses.find((response) => response.id === refused)?.body).toMatchObject({
            response_type: "ephemeral", text: ":warning: Sorry, only admins can use reset here.",
        });
        const more = await ask("C1", "more");
        expect(await ask("C2", "more")).toBe(more);

        // An admin exports the state (a file in the channel), resets, and the channel starts afresh.
        const uploadsBefore = fake.uploads.length;
        await slash("C1", "UADMIN", "export");
        const exported = await fake.waitFor(() => fake.uploads.slice(uploadsBefore).find((upload) => upload.channel === "C1" && upload.bytes !== null));
        expect(exported.bytes?.length).toBeGreaterThan(0);
        await slash("C1", "UADMIN", "reset");
        expect(await ask("C1", "hi")).toBe(first);

        // Importing the export brings the conversation back, bytes exactly as uploaded; a member's
        // import is refused without the file ever being downloaded.
        const url = fake.hostFile(exported.filename, exported.bytes as Uint8Array);
        const downloads = fake.downloads;
        expect(await ask("C1", "/import", [{name: exported.filename, url, size: exported.bytes?.length ?? 0}], "UALICE")).toBe(":warning: Sorry, only admins can use import here.");
        expect(fake.downloads).toBe(downloads);
        const imported = await ask("C1", "/import", [{name: exported.filename, url, size: exported.bytes?.length ?? 0}]);
        expect(imported).toMatch(/^Imported /);

        // After a restart both channels continue from the same persisted state.
        await app?.stop();
        app = undefined;
        await startBot();
        const again = await ask("C1", "again");
        expect(await ask("C2", "again")).toBe(again);
        expect(await ask("C3", "again")).not.toBe(again);
    });
});
