// A reply the database could not log (cut while it was being answered): the user sees the reply,
// it waits in the on-disk outbox, and the history holds it exactly once when the database is back,
// also after the process that held it was killed. Issue 12 item 5, issue 16 item 1.
import {spawn} from "node:child_process";
import {readdirSync, rmSync} from "node:fs";
import path from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import {decodeExportFile} from "../../src/store/exportFile.ts";
import {RecordingSink, scratchDir, send, startApp, turnIn} from "../engine/runtimeHelpers.ts";
import type {Outcome} from "../engine/runtimeHelpers.ts";
import {CuttableRelay} from "./helpers/CuttableRelay.ts";
import {createReopenableDatabase} from "./helpers/testDatabases.ts";
import type {ReopenableDatabase} from "./helpers/testDatabases.ts";

const childScript = path.join(import.meta.dirname, "helpers/outboxChild.ts");

function waiting(outboxDir: string): string[] {
    try {
        return readdirSync(outboxDir).filter((name) => name.endsWith(".json"));
    } catch {
        return [];
    }
}

/** The role and text of each turn an admin export of `key` holds. */
async function exportedTranscript(app: App, key: string): Promise<[string, string][]> {
    const exported = await send(app, turnIn(key, "/export"));
    if (exported.kind !== "complete" || exported.file === undefined) throw new Error(`export failed: ${JSON.stringify(exported)}`);
    const decoded = decodeExportFile(exported.file.bytes, app.engine.info);
    if (!decoded.ok) throw new Error(decoded.message);
    return decoded.contents.manifest.transcript.map((turn) => [turn.role, turn.text]);
}

const text = (outcome: Outcome) => (outcome.kind === "complete" ? outcome.text : `(failed: ${outcome.error.code})`);

describe("a finished reply whose logging meets a database outage", () => {
    let database: ReopenableDatabase;
    let dir: string;
    beforeAll(async () => {
        database = await createReopenableDatabase("postgres");
        dir = scratchDir();
    });
    afterAll(async () => {
        await database?.drop();
        rmSync(dir, {recursive: true, force: true});
    });

    it("is delivered, waits in the outbox while its conversation waits, and is logged once, as the user saw it, when the database is back", async () => {
        const outboxDir = path.join(dir, "outbox-cut");
        const {relay, url} = await CuttableRelay.to(database.options.url!);
        const app = await startApp(dir, {DATABASE_URL: url, DB_AUTO_MIGRATE: "0", BOT_OUTBOX_DIR: outboxDir, OUTBOX_MAX_CONVERSATIONS: "1"});
        const reference = await startApp(dir);
        try {
            const key = "outbox:cut";
            const first = await send(app, turnIn(key, "first message"));
            expect(first.kind).toBe("complete");

            const sink = new RecordingSink();
            let cut: Promise<void> | undefined;
            sink.onUpdate = () => void (cut ??= relay.down());
            const second = await send(app, turnIn(key, "second message, answered while the database is cut"), sink);
            await cut;
            expect(sink.updates.length).toBeGreaterThan(0);
            expect(second.kind).toBe("complete");
            expect(waiting(outboxDir)).toHaveLength(1);

            // While it waits, the conversation answers nothing new; no other conversation may fill the outbox further.
            expect(await send(app, turnIn(key, "third message, refused"))).toMatchObject({kind: "fail", error: {code: "store/outbox_waiting", message: expect.stringContaining("last reply is not saved yet")}});
            expect(await send(app, turnIn("outbox:other", "hello from elsewhere"))).toMatchObject({kind: "fail", error: {code: "store/outbox_full"}});
            expect(waiting(outboxDir)).toHaveLength(1);

            await relay.up();
            expect(await exportedTranscript(app, key)).toEqual([
                ["user", "first message"], ["assistant", text(first)],
                ["user", "second message, answered while the database is cut"], ["assistant", text(second)],
            ]);
            expect(waiting(outboxDir)).toEqual([]);
            expect(await send(app, turnIn("outbox:other", "hello again"))).toMatchObject({kind: "complete"});

            // The state kept is the one the user saw: replies go on as in a run that was never cut.
            expect(await send(reference, turnIn(key, "first message"))).toEqual(first);
            expect(await send(reference, turnIn(key, "second message, answered while the database is cut"))).toEqual(second);
            expect(await send(app, turnIn(key, "fourth message"))).toEqual(await send(reference, turnIn(key, "fourth message")));
        } finally {
            await relay.up().catch(() => undefined);
            await app.stop();
            await reference.stop();
            await relay.down();
        }
    });

    it("survives the process being killed, and is logged when the next one starts", async () => {
        const outboxDir = path.join(dir, "outbox-killed");
        const key = "outbox:killed";
        const child = spawn(process.execPath, ["--import", "tsx", childScript], {
            env: {...process.env, OUTBOX_DIR: dir, OUTBOX_OUTBOX_DIR: outboxDir, OUTBOX_KEY: key, OUTBOX_DATABASE_URL: database.options.url!},
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const outcome = await new Promise<Outcome>((resolve, reject) => {
            let stdout = "";
            child.stdout.on("data", (chunk: Buffer) => {
                stdout += chunk.toString();
                const line = stdout.split("\n").find((l) => l.startsWith("{"));
                if (line !== undefined && stdout.includes(`${line}\n`)) resolve(JSON.parse(line) as Outcome);
            });
            child.on("exit", (code) => reject(new Error(`the child exited with ${code}: ${stderr}`)));
        });
        expect(outcome.kind).toBe("complete");
        expect(waiting(outboxDir)).toHaveLength(1);
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;

        const app = await startApp(dir, {DATABASE_URL: database.options.url!, DB_AUTO_MIGRATE: "0", BOT_OUTBOX_DIR: outboxDir});
        try {
            // Logged at start, before any turn of that conversation arrives.
            expect(waiting(outboxDir)).toEqual([]);
            expect((await app.store.transcript(key)).map((turn) => [turn.role, turn.text])).toEqual([
                ["user", "before the cut"], ["assistant", expect.any(String)],
                ["user", "answered while the database is cut"], ["assistant", text(outcome)],
            ]);
            expect(await send(app, turnIn(key, "/status"))).toMatchObject({kind: "complete", text: expect.stringContaining("in 4 turn(s)")});
        } finally {
            await app.stop();
        }
    });
});
