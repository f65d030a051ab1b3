import {mkdirSync} from "node:fs";
import path from "node:path";
import {setTimeout as sleep} from "node:timers/promises";
import {PGlite} from "@electric-sql/pglite";
import {PrismaPg} from "@prisma/adapter-pg";
import pg from "pg";
import {PrismaPGlite} from "pglite-prisma-adapter";
import {StoreError} from "../../errors/BotError.ts";
import {copyOutBytea} from "./copyOutBytea.ts";
import {createStoreClient} from "./createStoreClient.ts";
import type {StoreClient} from "./createStoreClient.ts";
import {AdvisoryLeaseClaims} from "./AdvisoryLeaseClaims.ts";
import {DataDirLock} from "./DataDirLock.ts";
import type {LeaseClaims} from "./LeaseClaims.ts";
import {openMigrationEngine} from "./openMigrationEngine.ts";
import type {MigrationTarget} from "./openMigrationEngine.ts";
import {fastByteaOptions, withFastByteaQueries} from "./pgliteFastBytea.ts";
import {ProcessLeaseClaims} from "./ProcessLeaseClaims.ts";
import {readMigrationsList} from "./readMigrationsList.ts";

/** Where the store keeps its data. */
export interface OpenDatabaseOptions {
    /** A Postgres server (`DATABASE_URL`). When absent, the embedded PGlite database is used. */
    url?: string;
    /** PGlite data directory (`BOT_DATA_DIR`); `memory://…` keeps it in memory. Defaults to `.data/pglite`. */
    dataDir?: string;
    /** Apply pending migrations on open (`DB_AUTO_MIGRATE`). Defaults to true. */
    migrate?: boolean;
    /** Tries to reach the server before giving up. Defaults to 5. */
    connectAttempts?: number;
    /** Wait before the first retry, doubled each time, in ms. Defaults to 1000. */
    retryDelayMs?: number;
    /** Told about each failed attempt (for the log). */
    onRetry?: (error: StoreError, attempt: number) => void;
}

/** An open database: the store's Prisma client and what it runs on. */
export interface Database {
    readonly prisma: StoreClient;
    readonly kind: "postgres" | "pglite";
    /** Server address without credentials, or the data directory. */
    readonly description: string;
    /** The encoded state of checkpoint `id`, by the fastest read the database offers; null when the row is gone. */
    readCheckpointState(id: bigint): Promise<Uint8Array | null>;
    /** The lease claims of one owner (a store): held while it lives, freed when it dies or closes. */
    openLeaseClaims(owner: string): LeaseClaims;
    /** Closes the connections, every owner's lease claims included. */
    close(): Promise<void>;
}

/**
 * Opens the store's database: the server at `url`, or else the embedded PGlite
 * directory (locked against a second process), migrated unless told not to.
 * An unreachable server is retried, then reported as `store/unavailable`; a
 * database missing on a reachable server is `store/database_missing` at once.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
    return options.url !== undefined ? openServer(options.url, options) : openEmbedded(options.dataDir ?? ".data/pglite", options.migrate ?? true);
}

/** Applies pending migrations to `target`; returns the names applied. */
export async function deployMigrations(target: MigrationTarget): Promise<string[]> {
    const engine = await openMigrationEngine(target);
    try {
        return await engine.deploy(readMigrationsList());
    } finally {
        await engine.close();
    }
}

/** `url` with the password masked, for messages and logs. */
export function describeUrl(url: string): string {
    try {
        const parsed = new URL(url);
        if (parsed.password !== "") parsed.password = "***";
        return parsed.toString();
    } catch {
        return "(unparsable DATABASE_URL)";
    }
}

async function openServer(url: string, options: OpenDatabaseOptions): Promise<Database> {
    const description = describeUrl(url);
    const attempts = options.connectAttempts ?? 5;
    let delay = options.retryDelayMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
        try {
            await probe(url);
            break;
        } catch (cause) {
            // Waiting does not create a database: say so at once, with the command that does.
            if ((cause as {code?: unknown}).code === "3D000") throw missingDatabase(url, cause);
            const error = new StoreError("store/unavailable", `Cannot reach the database at ${description} (attempt ${attempt} of ${attempts}): ${(cause as Error).message}`, {cause});
            if (attempt >= attempts) throw error;
            options.onRetry?.(error, attempt);
            await sleep(delay);
            delay *= 2;
        }
    }
    if (options.migrate ?? true) await deployMigrations({url});
    const prisma = createStoreClient(new PrismaPg({connectionString: url}));
    // Beside Prisma's pool, a small one for the checkpoint reads that bypass it.
    const blobPool = new pg.Pool({connectionString: url, max: 2});
    // An idle connection that drops is replaced on the next read, which reports any lasting failure.
    blobPool.on("error", () => {});
    const claims = new Set<LeaseClaims>();
    return {
        prisma,
        kind: "postgres",
        description,
        // Prisma reads bytea as hex text; COPY in binary format moves the raw bytes (copyOutBytea.ts).
        readCheckpointState: (id) => copyOutBytea(blobPool, `SELECT state FROM checkpoint WHERE id = ${BigInt(id)}`),
        openLeaseClaims: (owner) => {
            const opened = new AdvisoryLeaseClaims(url, owner);
            claims.add(opened);
            return opened;
        },
        close: async () => {
            for (const opened of claims) await opened.close();
            await prisma.$disconnect();
            await blobPool.end();
        },
    };
}

// Not created on the fly: a mistyped DATABASE_URL would start an empty history and look like lost conversations.
function missingDatabase(url: string, cause: unknown): StoreError {
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username);
    const name = decodeURIComponent(parsed.pathname.slice(1)) || user;
    const flags = [`-h ${parsed.hostname}`, parsed.port === "" ? "" : `-p ${parsed.port}`, user === "" ? "" : `-U ${user}`].filter((flag) => flag !== "");
    return new StoreError(
        "store/database_missing",
        `database "${name}" does not exist on the server of ${describeUrl(url)} — create it with \`createdb ${flags.join(" ")} ${name}\` (or CREATE DATABASE), or fix DATABASE_URL`,
        {cause},
    );
}

async function probe(url: string): Promise<void> {
    const client = new pg.Client({connectionString: url, connectionTimeoutMillis: 5000});
    // A failed connect may still emit "error" later; without a listener it would crash the process.
    client.on("error", () => {});
    try {
        await client.connect();
        await client.query("SELECT 1");
    } finally {
        await client.end().catch(() => {});
    }
}

/** A PGlite instance on `dataDir` (locked unless in memory), with the fast bytea codec; `close` unlocks. */
export async function openPglite(dataDir: string): Promise<{db: PGlite, dataDir: string, close(): Promise<void>}> {
    let lock: DataDirLock | undefined;
    if (!dataDir.startsWith("memory://")) {
        dataDir = path.resolve(dataDir);
        // PGlite creates the directory itself but not its parents.
        mkdirSync(path.dirname(dataDir), {recursive: true});
        lock = DataDirLock.acquire(dataDir);
    }
    try {
        const db = await PGlite.create({dataDir, ...fastByteaOptions});
        return {db, dataDir, close: async () => {
            await db.close();
            lock?.release();
        }};
    } catch (cause) {
        lock?.release();
        throw new StoreError("store/unavailable", `Cannot open the embedded database in ${dataDir}: ${(cause as Error).message}`, {cause});
    }
}

async function openEmbedded(dataDir: string, migrate: boolean): Promise<Database> {
    const embedded = await openPglite(dataDir);
    try {
        if (migrate) await deployMigrations({pglite: embedded.db});
    } catch (error) {
        await embedded.close();
        throw error;
    }
    const prisma = createStoreClient(new PrismaPGlite(withFastByteaQueries(embedded.db)));
    const processClaims = new Map<number, LeaseClaims>();
    return {
        prisma,
        kind: "pglite",
        description: embedded.dataDir,
        // Prisma reads bytea as hex text; COPY in binary format moves the raw bytes (copyOutBytea.ts).
        readCheckpointState: (id) => copyOutBytea(embedded.db, `SELECT state FROM checkpoint WHERE id = ${BigInt(id)}`),
        openLeaseClaims: () => new ProcessLeaseClaims(processClaims),
        close: async () => {
            await prisma.$disconnect();
            await embedded.close();
        },
    };
}
