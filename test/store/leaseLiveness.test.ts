// Leases follow their holder's life (docs/architecture.md § Persistence): a bot killed with SIGKILL leaves
// no lock-out behind, and a live one keeps its conversations from a second process, which says so.
import {spawn} from "node:child_process";
import type {ChildProcess} from "node:child_process";
import {rmSync} from "node:fs";
import path from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {StoreError} from "../../src/errors/BotError.ts";
import {scratchDir, send, startApp, turnIn} from "../engine/runtimeHelpers.ts";
import {createReopenableDatabase, databaseKinds} from "./helpers/testDatabases.ts";
import type {ReopenableDatabase} from "./helpers/testDatabases.ts";

const ownerScript = path.join(import.meta.dirname, "helpers/ownerChild.ts");

/** A bot process that has answered a turn in `key` and holds it. */
async function startOwner(dir: string, env: Record<string, string>, key: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ["--import", "tsx", ownerScript], {
        env: {...process.env, OWNER_DIR: dir, OWNER_ENV: JSON.stringify(env), OWNER_KEY: key}, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            if (stdout.includes("serving\n")) resolve();
            if (stdout.includes("failed")) reject(new Error(`the owner process could not serve: ${stdout}${stderr}`));
        });
        child.on("exit", (code) => reject(new Error(`the owner process exited with ${code}: ${stderr}`)));
    });
    return child;
}

async function kill(child: ChildProcess): Promise<void> {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
}

describe.each(databaseKinds)("leases on %s", (kind) => {
    let database: ReopenableDatabase;
    let dir: string;
    let env: Record<string, string>;
    beforeAll(async () => {
        database = await createReopenableDatabase(kind);
        dir = scratchDir();
        env = kind === "postgres" ? {DATABASE_URL: database.options.url!, DB_AUTO_MIGRATE: "0"} : {BOT_DATA_DIR: database.options.dataDir!};
    });
    afterAll(async () => {
        await database?.drop();
        rmSync(dir, {recursive: true, force: true});
    });

    it("a bot killed with SIGKILL leaves its conversation free: a new process answers chat, status and export at once", async () => {
        const key = "lease:killed";
        await kill(await startOwner(dir, env, key));
        const app = await startApp(dir, env);
        try {
            expect(await send(app, turnIn(key, "are you still there?"))).toMatchObject({kind: "complete"});
            expect(await send(app, turnIn(key, "/status"))).toMatchObject({kind: "complete", text: expect.stringContaining("in 4 turn(s)")});
            expect(await send(app, turnIn(key, "/export"))).toMatchObject({kind: "complete", file: {bytes: expect.any(Uint8Array)}});
        } finally {
            await app.stop();
        }
    });

    if (kind === "pglite") {
        it("a second process cannot open the directory while the first lives", async () => {
            const owner = await startOwner(dir, env, "lease:dir");
            try {
                const error = await startApp(dir, env).then(async (app) => {
                    await app.stop();
                    return null;
                }, (e: unknown) => e);
                expect(error).toMatchObject({code: "store/data_dir_locked", message: expect.stringContaining(`process ${owner.pid}`)});
            } finally {
                await kill(owner);
            }
        });
        return;
    }

    it("a live bot keeps its conversation: a second process says another instance serves it, for chat, status and export, until the first dies", async () => {
        const key = "lease:live";
        const owner = await startOwner(dir, env, key);
        const app = await startApp(dir, env);
        try {
            const refusal = {kind: "fail", error: {code: "store/busy_elsewhere", message: "Another instance of the bot is serving this conversation, so this one cannot answer here."}};
            for (const text of ["hello?", "/status", "/export"]) {
                const outcome = await send(app, turnIn(key, text));
                expect({text, outcome}).toMatchObject({text, outcome: refusal});
                expect((outcome as {error: StoreError}).error.cause).toBeInstanceOf(StoreError);
            }
            await kill(owner);
            expect(await send(app, turnIn(key, "and now?"))).toMatchObject({kind: "complete"});
            expect(await send(app, turnIn(key, "/status"))).toMatchObject({kind: "complete", text: expect.stringContaining("in 4 turn(s)")});
        } finally {
            owner.kill("SIGKILL");
            await app.stop();
        }
    });
});
