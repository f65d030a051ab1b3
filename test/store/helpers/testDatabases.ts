import {randomBytes} from "node:crypto";
import {mkdtempSync, rmSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import {openDatabase} from "../../../src/store/db/openDatabase.ts";
import type {Database, OpenDatabaseOptions} from "../../../src/store/db/openDatabase.ts";

/** The server the Postgres variants use; CI always has one on 127.0.0.1:5432. */
export const serverUrl = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** A throwaway database on the server, or a clear failure when the server is unreachable. */
export async function createThrowawayDatabase(): Promise<{url: string, drop(): Promise<void>}> {
    const name = `rwkv_test_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({connectionString: serverUrl, connectionTimeoutMillis: 5000});
    try {
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
    } catch (error) {
        await admin.end().catch(() => {});
        throw new Error(`The store tests need a Postgres server at ${serverUrl} (set TEST_DATABASE_URL to use another): ${(error as Error).message}`);
    }
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
        url: url.toString(),
        drop: async () => {
            const client = new pg.Client({connectionString: serverUrl});
            await client.connect();
            await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await client.end();
        },
    };
}

/** A migrated database of each kind the store runs on. */
export const databaseKinds = ["postgres", "pglite"] as const;

/** Opens a fresh, migrated database of `kind`; `close` also drops it. */
export async function openTestDatabase(kind: (typeof databaseKinds)[number]): Promise<Database & {url?: string}> {
    if (kind === "pglite") return openDatabase({dataDir: "memory://"});
    const throwaway = await createThrowawayDatabase();
    const db = await openDatabase({url: throwaway.url});
    return {...db, url: throwaway.url, close: async () => {
        await db.close();
        await throwaway.drop();
    }};
}

/** A migrated database that outlives its connections, to be reopened as a restarted process would. */
export interface ReopenableDatabase {
    /** What `openDatabase` takes to reach it (JSON-safe, for child processes). */
    readonly options: OpenDatabaseOptions;
    open(): Promise<Database>;
    drop(): Promise<void>;
}

/** A throwaway server database, or a PGlite directory on disk; migrated once. */
export async function createReopenableDatabase(kind: (typeof databaseKinds)[number]): Promise<ReopenableDatabase> {
    let options: OpenDatabaseOptions;
    let drop: () => Promise<void>;
    if (kind === "postgres") {
        const throwaway = await createThrowawayDatabase();
        options = {url: throwaway.url, migrate: false};
        drop = throwaway.drop;
        await (await openDatabase({url: throwaway.url})).close();
    } else {
        const dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-store-"));
        options = {dataDir: path.join(dir, "db")};
        drop = async () => rmSync(dir, {recursive: true, force: true});
        await (await openDatabase(options)).close();
    }
    return {options, open: () => openDatabase(options), drop};
}
