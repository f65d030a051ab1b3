import {readFileSync} from "node:fs";
import {createRequire} from "node:module";
import path from "node:path";
import {pathToFileURL} from "node:url";
import {bindMigrationAwareSqlAdapterFactory} from "@prisma/driver-adapter-utils";
import type {SqlMigrationAwareDriverAdapterFactory} from "@prisma/driver-adapter-utils";
import type {
    DiagnoseMigrationHistoryOutput,
    MigrationList,
    SchemaEngine,
    SchemaFilter,
} from "@prisma/schema-engine-wasm";
import {StoreError} from "../../errors/BotError.ts";

type SchemaEngineClass = typeof SchemaEngine;

// The project's lib settings (ES2023, no DOM) do not declare WebAssembly.
interface WasmApi {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => {exports: Record<string, unknown>};
}

const noFilters: SchemaFilter = {externalTables: [], externalEnums: []};
let engineClass: Promise<SchemaEngineClass> | undefined;

/**
 * Prisma's own schema engine (`@prisma/schema-engine-wasm`, the same engine
 * commit as the prisma 7.10.0 CLI) driven through a driver adapter, so that
 * migrations apply offline and write the `_prisma_migrations` rows that
 * `prisma migrate deploy` expects. The CLI's native engine is downloaded at run
 * time, which an offline machine cannot do.
 */
export class WasmSchemaEngine {
    private constructor(private readonly engine: SchemaEngine, private readonly onClose: () => Promise<void>) {}

    /**
     * Starts the engine on a migration adapter factory (see
     * {@link migrationAdapterFactory}); `schema` is `[path, text]` of schema.prisma.
     * `onClose` runs after the engine is freed (it closes the connections).
     */
    static async open(
        factory: SqlMigrationAwareDriverAdapterFactory,
        schema: readonly [string, string],
        onClose: () => Promise<void>,
    ): Promise<WasmSchemaEngine> {
        const Engine = await loadEngineClass();
        const log = (line: string) => {
            if (process.env.DEBUG_SCHEMA_ENGINE === "1") console.error(line);
        };
        try {
            const engine = await Engine.new({datamodels: [[schema[0], schema[1]]]}, log, bindMigrationAwareSqlAdapterFactory(factory));
            return new WasmSchemaEngine(engine, onClose);
        } catch (error) {
            await onClose();
            throw asMigrationError(error);
        }
    }

    /** `migrate deploy`: applies pending migrations, returns their names. */
    async deploy(migrationsList: MigrationList): Promise<string[]> {
        const out = await this.call(() => this.engine.applyMigrations({migrationsList, filters: noFilters}));
        return out.appliedMigrationNames;
    }

    /** `migrate status`: compares the folder with `_prisma_migrations`. */
    status(migrationsList: MigrationList): Promise<DiagnoseMigrationHistoryOutput> {
        return this.call(() => this.engine.diagnoseMigrationHistory({migrationsList, optInToShadowDatabase: false, filters: noFilters}));
    }

    /** The SQL that would bring the migrations up to `schema`; empty when they are in sync. */
    async drift(migrationsList: MigrationList, schema: readonly [string, string]): Promise<string> {
        const out = await this.call(() => this.engine.diff({
            from: {tag: "migrations", ...migrationsList},
            to: {tag: "schemaDatamodel", files: [{path: schema[0], content: schema[1]}]},
            script: true,
            exitCode: null,
            filters: noFilters,
        }));
        return out.stdout ?? "";
    }

    /**
     * `migrate dev --create-only`: the CLI's sequence (apply, devDiagnostic, which
     * caches the shadow replay, then createMigration). Returns the folder name and
     * SQL, or null when the schema needs no migration.
     */
    async create(migrationsList: MigrationList, schema: readonly [string, string], name: string): Promise<{folder: string, sql: string} | null> {
        await this.deploy(migrationsList);
        await this.call(() => this.engine.devDiagnostic({migrationsList, filters: noFilters}));
        const out = await this.call(() => this.engine.createMigration({
            draft: false,
            migrationName: name,
            migrationsList,
            schema: {files: [{path: schema[0], content: schema[1]}]},
            filters: noFilters,
        }));
        if (out.migrationScript === null) return null;
        return {folder: out.generatedMigrationName, sql: out.migrationScript};
    }

    /** `migrate resolve --rolled-back <name>`. */
    async markRolledBack(migrationName: string): Promise<void> {
        await this.call(() => this.engine.markMigrationRolledBack({migrationName}));
    }

    /** `migrate resolve --applied <name>`. */
    async markApplied(migrationsList: MigrationList, migrationName: string): Promise<void> {
        await this.call(() => this.engine.markMigrationApplied({migrationName, migrationsList}));
    }

    /** Frees the engine, then closes its connections (freeing alone does not). */
    async close(): Promise<void> {
        this.engine.free();
        await this.onClose();
    }

    private async call<T>(run: () => Promise<T>): Promise<T> {
        try {
            return await run();
        } catch (error) {
            throw asMigrationError(error);
        }
    }
}

function asMigrationError(error: unknown): StoreError {
    const message = error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error);
    return new StoreError("store/migration_failed", `Migration engine: ${message}`, {cause: error});
}

// The package's entry does an ESM import of the .wasm file, which Node 20 cannot;
// instantiate the module by hand with the generated glue as its import object.
function loadEngineClass(): Promise<SchemaEngineClass> {
    engineClass ??= (async () => {
        const require = createRequire(import.meta.url);
        const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
        const glue = await import(pathToFileURL(gluePath).href) as Record<string, unknown> & {
            __wbg_set_wasm(exports: Record<string, unknown>): void;
            SchemaEngine: SchemaEngineClass;
        };
        const imports: Record<string, unknown> = {...glue};
        // The engine arms a timer after each call; unref'd, it no longer keeps a
        // finished CLI alive for ~10 s.
        for (const [name, fn] of Object.entries(glue)) {
            if (name.startsWith("__wbg_setTimeout_") && typeof fn === "function") {
                imports[name] = (...args: unknown[]) => {
                    const timer = (fn as (...a: unknown[]) => unknown)(...args);
                    (timer as {unref?: () => void}).unref?.();
                    return timer;
                };
            }
        }
        const wasm = (globalThis as unknown as {WebAssembly: WasmApi}).WebAssembly;
        const module = new wasm.Module(readFileSync(path.join(path.dirname(gluePath), "schema_engine_bg.wasm")));
        const instance = new wasm.Instance(module, {"./schema_engine_bg.js": imports});
        glue.__wbg_set_wasm(instance.exports);
        (instance.exports.__wbindgen_start as () => void)();
        return glue.SchemaEngine;
    })();
    return engineClass;
}
