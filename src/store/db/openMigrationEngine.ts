import {PGlite} from "@electric-sql/pglite";
import {PrismaPg} from "@prisma/adapter-pg";
import type {SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory} from "@prisma/driver-adapter-utils";
import {PrismaPGlite} from "pglite-prisma-adapter";
import {StoreError} from "../../errors/BotError.ts";
import {readSchema} from "./readMigrationsList.ts";
import {WasmSchemaEngine} from "./WasmSchemaEngine.ts";

/** Where migrations run: a Postgres server by URL, or a PGlite instance the caller owns. */
export type MigrationTarget = {url: string} | {pglite: PGlite};

/**
 * Opens Prisma's wasm schema engine on `target` through a driver adapter with
 * the fixes migrations need from each adapter (each explained where it is made,
 * below). Close it after use.
 */
export async function openMigrationEngine(target: MigrationTarget, schema = readSchema()): Promise<WasmSchemaEngine> {
    const opened: SqlDriverAdapter[] = [];
    const factory = "url" in target ? pgFactory(target.url) : pgliteFactory(target.pglite);
    const tracking: SqlMigrationAwareDriverAdapterFactory = {
        provider: factory.provider,
        adapterName: factory.adapterName,
        connect: async () => {
            const adapter = await factory.connect();
            opened.push(adapter);
            return adapter;
        },
        connectToShadowDb: () => factory.connectToShadowDb(),
    };
    // Freeing the wasm engine does not close what its adapters opened.
    const closeAll = async () => {
        for (const adapter of opened.splice(0)) await adapter.dispose();
    };
    return WasmSchemaEngine.open(tracking, schema, closeAll);
}

function pgFactory(url: string): SqlMigrationAwareDriverAdapterFactory {
    // One connection: the engine's pg_advisory_lock and the statements it guards
    // share a session, and closing the engine releases the lock.
    const base = new PrismaPg({connectionString: url, max: 1});
    return {
        provider: base.provider,
        adapterName: base.adapterName,
        connect: async () => {
            const adapter = await base.connect();
            // adapter-pg splits scripts on every `;` (even in comments and strings)
            // and runs the pieces outside a transaction. A parameterless query is
            // the simple protocol: all statements, one implicit transaction, as the
            // native engine's raw_cmd.
            adapter.executeScript = async (script: string) => {
                try {
                    await adapter.underlyingDriver().query(script);
                } catch (error) {
                    (adapter as unknown as {onError(e: unknown): never}).onError(error);
                }
            };
            return adapter;
        },
        // adapter-pg's shadow database silently points at the main one when built
        // from a URL; shadow work (check, create) runs on in-memory PGlite instead.
        connectToShadowDb: () => Promise.reject(new StoreError("store/migration_failed", "No shadow database on a server: run db:migrate:check/create, which use in-memory PGlite")),
    };
}

function pgliteFactory(db: PGlite): SqlMigrationAwareDriverAdapterFactory {
    const base = new PrismaPGlite(db);
    return {
        provider: base.provider,
        adapterName: base.adapterName,
        connect: async () => withAwaitedScript(await base.connect(), db),
        connectToShadowDb: async () => {
            // The adapter's own shadow is never closed, and its wasm timer keeps
            // Node alive for ~10 s.
            const shadow = await PGlite.create();
            const adapter = withAwaitedScript(await new PrismaPGlite(shadow).connect(), shadow);
            adapter.dispose = () => shadow.close();
            return adapter;
        },
    };
}

// pglite-prisma-adapter 0.7.2 does not await exec(): a failing migration was
// recorded as applied and its error surfaced as an unhandled rejection.
function withAwaitedScript(adapter: SqlDriverAdapter, db: PGlite): SqlDriverAdapter {
    adapter.executeScript = async (script: string) => {
        try {
            await db.exec(script);
        } catch (error) {
            (adapter as unknown as {onError(e: unknown): never}).onError(error);
        }
    };
    return adapter;
}
