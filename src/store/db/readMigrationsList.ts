import {existsSync, readdirSync, readFileSync} from "node:fs";
import path from "node:path";
import type {MigrationList} from "@prisma/schema-engine-wasm";

/** Where the schema and migrations live, relative to the repository root. */
export const prismaDir = path.resolve(import.meta.dirname, "../../../prisma");

/** `prisma/migrations` as the schema engine takes it: folders sorted, files read. */
export function readMigrationsList(migrationsDir = path.join(prismaDir, "migrations")): MigrationList {
    const lockPath = path.join(migrationsDir, "migration_lock.toml");
    const folders = existsSync(migrationsDir)
        ? readdirSync(migrationsDir, {withFileTypes: true}).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
        : [];
    return {
        baseDir: migrationsDir,
        lockfile: {path: "migration_lock.toml", content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null},
        shadowDbInitScript: "",
        migrationDirectories: folders.map((folder) => ({
            path: folder,
            migrationFile: {path: "migration.sql", content: {tag: "ok" as const, value: readFileSync(path.join(migrationsDir, folder, "migration.sql"), "utf8")}},
        })),
    };
}

/** `[path, text]` of prisma/schema.prisma, as the schema engine takes it. */
export function readSchema(schemaPath = path.join(prismaDir, "schema.prisma")): [string, string] {
    return [schemaPath, readFileSync(schemaPath, "utf8")];
}
