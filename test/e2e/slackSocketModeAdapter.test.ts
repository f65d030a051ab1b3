import {afterAll, beforeAll, expect, it} from "vitest";
import {LogLevel} from "@slack/bolt";
import {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import type {Turn} from "../../src/core/Turn.ts";
import {EditThrottle} from "../../adapters/shared/EditThrottle.ts";
import {appMentionEnvelope, FakeSlack, slashCommandFields} from "./fakes/FakeSlack.ts";
import {silentLog} from "../helpers/testLoggers.ts";

// The adapter alone (a scripted core): the real Bolt in Socket Mode; the fake hands out a loopback WebSocket from
// apps.connections.open and pushes envelopes through it.
let fake: FakeSlack;
let adapter: SlackAdapter;
const turns: Turn[] = [];

beforeAll(async () => {
    fake = await FakeSlack.start();
    fake.users.set("UALICE", {name: "alice", isOwner: true});
    adapter = new SlackAdapter({
        config: {botToken: "xoxb-test", mode: {kind: "socket", appToken: "xapp-test"}, apiUrl: fake.apiUrl, adminUserIds: new Set(), command: "/rwkv"},
        boltLogLevel: LogLevel.ERROR, throttle: new EditThrottle({minIntervalMs: 100}),
        logger: silentLog,
    });
    await adapter.start(async (turn, sink) => {
        turns.push(turn);
        await sink.complete(`echo: ${turn.text}`);
    });
});

afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
});

it("connects with the app token, acks a slash command and answers it", async () => {
    expect(fake.callsOf("apps.connections.open")[0]?.token).toBe("xapp-test");
    expect(adapter.connected).toBe(true);
    const ack = await fake.sendEnvelope("slash_commands", slashCommandFields({text: "ask hi", responseUrl: fake.responseUrl("s1")}));
    expect(ack).toEqual({});
    await fake.waitFor(() => fake.thread("C1", undefined).find((message) => message.text === "echo: hi"));
    expect(turns[0]).toMatchObject({conversation: "slack:T1:C1", author: {id: "UALICE", isAdmin: true}});
});

it("answers a mention in its thread and runs a redelivered envelope once", async () => {
    // No bot ids configured: Bolt learns them from auth.test.
    const mention = appMentionEnvelope({eventId: "EvS1", text: "<@UBOT> over the socket", ts: "200.000001"});
    await fake.sendEnvelope("events_api", mention);
    await fake.sendEnvelope("events_api", mention, {attempt: 1, reason: "timeout"});
    await fake.waitFor(() => fake.thread("C1", "200.000001").find((message) => message.text === "echo: over the socket"));
    // One socket delivers in order: once a marker sent after the redelivery is answered, the
    // redelivery has been handled too.
    await fake.sendEnvelope("events_api", appMentionEnvelope({eventId: "EvS2", text: "<@UBOT> marker", ts: "200.000002"}));
    await fake.waitFor(() => fake.thread("C1", "200.000002").find((message) => message.text === "echo: marker"));
    expect(turns.filter((turn) => turn.id === "EvS1")).toHaveLength(1);
    expect(fake.callsOf("auth.test").length).toBeGreaterThanOrEqual(1);
});
