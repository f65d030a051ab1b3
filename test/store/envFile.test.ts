import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {runProcess} from "../helpers/runProcess.ts";
import {createThrowawayDatabase} from "./helpers/testDatabases.ts";

const repo = path.resolve(import.meta.dirname, "../..");

/** `npm run db:migrate*` as an operator runs it, from a directory whose `.env` names the database. */
function migrate(cwd: string, command: string): ReturnType<typeof runProcess> {
    const env = {...process.env};
    delete env.DATABASE_URL;
    delete env.BOT_DATA_DIR;
    return runProcess(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "scripts/migrate.ts"), command], {cwd, env});
}

describe("the migration script reads .env like the bot", () => {
    let database: {url: string, drop(): Promise<void>};
    let dir: string;

    beforeAll(async () => {
        database = await createThrowawayDatabase();
        dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-envfile-"));
        writeFileSync(path.join(dir, ".env"), `# the operator's settings\nDATABASE_URL=${database.url}\nBOT_DATA_DIR=${path.join(dir, "must-not-be-used")}\n`);
    });
    afterAll(async () => {
        await database?.drop();
        if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
    });

    it("applies the migrations to the DATABASE_URL of .env, then reports it up to date", async () => {
        const deploy = await migrate(dir, "deploy");
        expect(deploy.stderr).toBe("");
        expect(deploy.stdout).toContain(`Database: ${database.url}`);
        expect(deploy.code).toBe(0);
        const client = new pg.Client({connectionString: database.url});
        await client.connect();
        try {
            const applied = await client.query("SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL");
            expect(applied.rows[0].n).toBeGreaterThan(0);
        } finally {
            await client.end();
        }
        const status = await migrate(dir, "status");
        expect(status.stdout).toContain("Database schema is up to date");
        expect(status.code).toBe(0);
    });
});
