// Prisma CLI configuration (used by `prisma generate`; migrations run through
// scripts/migrate.ts and Prisma's wasm schema engine, see src/store/db/).
import {existsSync, readdirSync} from "node:fs";
import path from "node:path";
import {defineConfig} from "prisma/config";

// The CLI refuses to start without a native schema-engine, which it downloads at
// run time; offline there is none. generate/validate/format never execute it, so
// a stub that fails loudly for anything else is enough. Machines that did get the
// real engine keep it.
const enginesDir = path.resolve("node_modules/@prisma/engines");
const hasNativeEngine = existsSync(enginesDir) && readdirSync(enginesDir).some((name) => name.startsWith("schema-engine-"));
if (process.env.PRISMA_SCHEMA_ENGINE_BINARY === undefined && !hasNativeEngine) {
    process.env.PRISMA_SCHEMA_ENGINE_BINARY = path.resolve("scripts/schema-engine-offline-stub.sh");
}

export default defineConfig({
    schema: "prisma/schema.prisma",
    migrations: {path: "prisma/migrations"},
    // generate never connects; env() would throw when the variable is unset.
    datasource: {url: process.env.DATABASE_URL ?? "postgresql://unused@127.0.0.1:5432/unused"},
});
