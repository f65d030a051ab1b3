import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {PassThrough} from "node:stream";
import {fileURLToPath} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import type {Adapter} from "../../src/core/Adapter.ts";
import {createAdapters} from "../../src/app/createAdapters.ts";
import {createApp} from "../../src/app/createApp.ts";
import type {App} from "../../src/app/createApp.ts";
import {loadConfig} from "../../src/config/loadConfig.ts";
import {smallVocabText} from "../unit/tokenizer/smallVocab.ts";
import {appMentionEnvelope, FakeSlack, signedPost, slashCommandFields} from "./fakes/FakeSlack.ts";

// The whole bot as `npm start` composes it (config → createApp → createAdapters), with the
// real Bolt against a loopback Slack, the real engine on the tiny fp32 fixture model (greedy,
// byte-level vocabulary) and the real embedded database in a temporary directory.
const secret = "e2e-signing-secret";
const modelPath = fileURLToPath(new URL("../fixtures/models/tiny-L3-C128-V1024.fp32.pth", import.meta.url));
const quiet = {info: () => {}, warn: () => {}, error: () => {}};

let fake: FakeSlack;
let dir: string;
let app: App | undefined;
let eventsUrl = "";
const finished = new Set<string>();
let nextTs = 1;

async function startBot(): Promise<void> {
    const config = loadConfig({
        RWKV_MODEL_PATH: modelPath, RWKV_VOCAB: path.join(dir, "vocab.txt"),
        ENGINE_PRECISION: "fp32", ENGINE_BACKEND: "cpu", ENGINE_THREADS: "1", ENGINE_SLOTS: "2",
        SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "8", USER_COOLDOWN_MS: "0", EDIT_MIN_INTERVAL_MS: "50", EDITS_PER_SECOND: "100",
        BOT_DATA_DIR: path.join(dir, "db"),
        SLACK_BOT_TOKEN: "xoxb-e2e", SLACK_SIGNING_SECRET: secret, SLACK_PORT: "0", SLACK_HOST: "127.0.0.1",
        SLACK_API_URL: fake.apiUrl, SLACK_BOT_USER_ID: "UBOT", SLACK_BOT_ID: "BBOT",
    });
    let slack: SlackAdapter | undefined;
    app = await createApp(config, {
        log: quiet,
        adapters: (context) => createAdapters(config, {...context, log: quiet, console: {input: new PassThrough(), output: new PassThrough()}})
            .map((adapter) => {
                slack = adapter as SlackAdapter;
                return observed(adapter);
            }),
    });
    await app.start();
    expect(slack?.platform).toBe("slack");
    eventsUrl = `http://127.0.0.1:${slack?.port}/slack/events`;
}

/** The adapter as built, reporting each turn the core has finished with. */
function observed(adapter: Adapter): Adapter {
    return {
        platform: adapter.platform,
        start: (handler) => adapter.start(async (turn, sink) => {
            await handler(turn, sink);
            finished.add(turn.id);
        }),
        stop: () => adapter.stop(),
    };
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

/** Runs `/rwkv <text>` in `channel` as `user`; resolves once the core has finished with it. */
async function slash(channel: string, user: string, text: string): Promise<{ackMs: number; triggerId: string}> {
    const triggerId = `trigBot${nextTs++}`;
    const started = Date.now();
    const response = await signedPost(eventsUrl, new URLSearchParams(slashCommandFields({text, channel, user, triggerId, responseUrl: fake.responseUrl(triggerId)})).toString(), {secret, contentType: "application/x-www-form-urlencoded"});
    const ackMs = Date.now() - started;
    expect(response.status).toBe(200);
    await fake.waitFor(() => finished.has(triggerId), 30_000);
    return {ackMs, triggerId};
}

beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-slack-e2e-"));
    writeFileSync(path.join(dir, "vocab.txt"), smallVocabText());
    fake = await FakeSlack.start();
    fake.users.set("UALICE", {name: "alice"});
    fake.users.set("UADMIN", {name: "boss", isAdmin: true});
    await startBot();
});

afterAll(async () => {
    await app?.stop();
    await fake?.close();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

describe("the bot on Slack, end to end", () => {
    it("keeps, refuses, resets, exports, imports and restores channel state", async () => {
        // Two channels with the same history are the control for each other (greedy decoding).
        const first = await ask("C1", "hi");
        expect(first).not.toBe("_…thinking_");
        expect(await ask("C2", "hi")).toBe(first);

        // A member's reset is refused privately, acknowledged in time, and changes nothing.
        const refused = await slash("C1", "UALICE", "reset");
        expect(refused.ackMs).toBeLessThan(3000);
        expect(fake.responses.find((response) => response.id === refused.triggerId)?.body).toMatchObject({
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
