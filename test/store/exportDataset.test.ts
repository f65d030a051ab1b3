// `npm run -s cli -- export-dataset`: a whole database as fine-tuning JSONL, every line in the
// seed's training format, with the epochs and the date range chosen.
import {mkdtempSync, readFileSync, rmSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {PrismaStateStore} from "../../src/store/PrismaStateStore.ts";
import {runProcess} from "../helpers/runProcess.ts";
import {seedFormatTurns} from "../helpers/seedFormat.ts";
import {createReopenableDatabase, databaseKinds} from "./helpers/testDatabases.ts";
import type {ReopenableDatabase} from "./helpers/testDatabases.ts";

const repo = path.resolve(import.meta.dirname, "../..");
const settings = {platform: "discord", chatFormat: "chat"};

/** Logs `exchanges` as user/assistant pairs, with `persona` first when given. */
async function log(store: PrismaStateStore, key: string, exchanges: [string, string][], persona?: string): Promise<void> {
    const {epoch} = await store.openConversation(key, settings);
    await store.acquireLease(key);
    if (persona !== undefined) await store.appendTurn(key, {epoch, role: "system", text: persona, tokens: [1]});
    for (const [question, answer] of exchanges) {
        await store.appendTurn(key, {epoch, role: "user", text: question, tokens: [2, 3]});
        await store.appendTurn(key, {epoch, role: "assistant", text: answer, tokens: [4]});
    }
}

describe.each(databaseKinds)("export-dataset on %s", (kind) => {
    let database: ReopenableDatabase;
    let dir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
        database = await createReopenableDatabase(kind);
        dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-dataset-"));
        const {DATABASE_URL: _, BOT_DATA_DIR: __, ...rest} = process.env;
        env = {...rest, ...("url" in database.options ? {DATABASE_URL: database.options.url} : {BOT_DATA_DIR: database.options.dataDir})};
        const db = await database.open();
        try {
            const store = new PrismaStateStore(db, {owner: "test"});
            await log(store, "discord:old", [["What is RWKV?", "A recurrent language model."], ["Thanks", "You're welcome."]], "You are terse.");
            await store.reset("discord:old");
            await log(store, "discord:old", [["Hello again", "Hi!"]]);
            await log(store, "slack:T1:C1", [["Ping", "Pong"]]);
            // The Slack conversation happened in 2020.
            await db.prisma.turn.updateMany({where: {conversation: {key: "slack:T1:C1"}}, data: {createdAt: new Date("2020-06-01T12:00:00Z")}});
        } finally {
            await db.close();
        }
    });
    afterAll(async () => {
        await database?.drop();
        if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
    });

    async function exportDataset(...flags: string[]): Promise<string[][]> {
        const out = path.join(dir, `dataset-${flags.join("").replace(/\W+/g, "_")}.jsonl`);
        const result = await runProcess(path.join(repo, "node_modules/.bin/tsx"), ["src/cli/main.ts", "export-dataset", "--out", out, ...flags], {cwd: repo, env});
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        const lines = readFileSync(out, "utf8").split("\n");
        expect(lines.pop()).toBe("");
        expect(result.stdout).toContain(`wrote ${lines.length} conversation(s) to ${out}`);
        return lines.map(seedFormatTurns);
    }

    it("writes each conversation's current epoch by default, and every epoch with --epochs all", async () => {
        expect(await exportDataset()).toEqual([["Hello again", "Hi!"], ["Ping", "Pong"]]);
        expect(await exportDataset("--epochs", "all")).toEqual([
            ["What is RWKV?", "A recurrent language model.", "Thanks", "You're welcome."],
            ["Hello again", "Hi!"],
            ["Ping", "Pong"],
        ]);
    });

    it("keeps the turns logged in the date range", async () => {
        expect(await exportDataset("--epochs", "all", "--since", "2021-01-01")).toEqual([
            ["What is RWKV?", "A recurrent language model.", "Thanks", "You're welcome."],
            ["Hello again", "Hi!"],
        ]);
        expect(await exportDataset("--until", "2021-01-01")).toEqual([["Ping", "Pong"]]);
        expect(await exportDataset("--since", "2020-06-01T12:00:01Z", "--until", "2021-01-01")).toEqual([]);
    });

    it("refuses a bad date or epoch choice as a usage error", async () => {
        const result = await runProcess(path.join(repo, "node_modules/.bin/tsx"), ["src/cli/main.ts", "export-dataset", "--out", path.join(dir, "x"), "--since", "yesterday"], {cwd: repo, env});
        expect(result.code).toBe(2);
        expect(result.stderr).toContain('--since must be a date (ISO 8601, e.g. 2026-01-31), got "yesterday"');
    });
});
