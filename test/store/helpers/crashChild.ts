// A bot process reduced to the store's duties, for the SIGKILL test: it
// restores its conversation into the real engine, then plays scripted
// exchanges with greedy replies, printing "ack <seq>" once each turn is
// durably logged and checkpointing by policy.
import {setTimeout as sleep} from "node:timers/promises";
import {StoreError} from "../../../src/errors/BotError.ts";
import {checkpointDue} from "../../../src/store/checkpointDue.ts";
import {openDatabase} from "../../../src/store/db/openDatabase.ts";
import type {OpenDatabaseOptions} from "../../../src/store/db/openDatabase.ts";
import {PrismaStateStore} from "../../../src/store/PrismaStateStore.ts";
import {restoreConversation} from "../../../src/store/restoreConversation.ts";
import {TinyChat, userTokens} from "./TinyChat.ts";

const options = JSON.parse(process.env.CRASH_DB_OPTIONS!) as OpenDatabaseOptions;
const key = process.env.CRASH_KEY ?? "console:crash";
const exchanges = Number(process.env.CRASH_EXCHANGES ?? 50);
// About one checkpoint every four exchanges: kills land before, during and after checkpoints.
const policy = {everyTokens: 150, quietMs: Infinity};

const db = await openDatabase(options);
const store = new PrismaStateStore(db, {owner: `crash-child-${process.pid}`});
const record = await store.openConversation(key, {platform: "console", chatFormat: "chat"});
// The killed predecessor's lease is free once the server has seen its connection close.
for (;;) {
    try {
        await store.acquireLease(key);
        break;
    } catch (error) {
        if (!(error instanceof StoreError) || error.code !== "store/busy_elsewhere") throw error;
        await sleep(100);
    }
}
const chat = await TinyChat.load();
const restored = await restoreConversation(store, key, chat.replayer);
let seq = restored.logLength;
let unsaved = restored.replayedTokens;

async function log(role: "user" | "assistant", n: number, tokens: number[]): Promise<void> {
    const turn = await store.appendTurn(key, {epoch: record.epoch, role, text: `${role} ${n}`, tokens});
    seq = turn.seq;
    console.log(`ack ${seq}`);
    unsaved += tokens.length;
    if (checkpointDue(policy, unsaved, 0) !== null) {
        await store.checkpoint(key, {epoch: record.epoch, logSeq: seq, state: await chat.state(), descriptor: chat.descriptor, reason: "tokens"});
        unsaved = 0;
    }
}

while (seq < 2 * exchanges) {
    const n = Math.floor(seq / 2) + 1;
    // After a crash between a user turn and its reply, only the reply is generated again.
    if (seq % 2 === 0) {
        const user = userTokens(n);
        await chat.feed(user);
        await log("user", n, user);
    }
    await log("assistant", n, await chat.reply());
}
await store.checkpoint(key, {epoch: record.epoch, logSeq: seq, state: await chat.state(), descriptor: chat.descriptor, reason: "shutdown"});
await store.releaseLease(key);
await chat.dispose();
await db.close();
console.log("done");
