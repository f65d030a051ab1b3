import pg from "pg";
import {describe, expect, it} from "vitest";
import {Prisma} from "../../../generated/prisma/client.ts";
import {StoreError} from "../../../src/errors/BotError.ts";
import {asStoreError} from "../../../src/store/asStoreError.ts";
import {isConnectionError} from "../../../src/store/isConnectionError.ts";

const clientVersion = "7.10.0";

function socketError(code: string): Error {
    return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), {code, errno: -111, syscall: "connect"});
}

function postgresError(code: string, message: string): Error {
    return Object.assign(new pg.DatabaseError(message, 0, "error"), {code, severity: "FATAL"});
}

// What Prisma throws when the driver adapter reports a failure: the adapter's error under meta.
function adapterFailure(prismaCode: string, cause: Record<string, unknown>): Error {
    return new Prisma.PrismaClientKnownRequestError("Raw query failed.", {code: prismaCode, clientVersion, meta: {driverAdapterError: {name: "DriverAdapterError", cause}}});
}

describe("isConnectionError", () => {
    it.each([
        ["a refused connection", socketError("ECONNREFUSED")],
        ["a reset connection", socketError("ECONNRESET")],
        ["node-postgres losing its socket", new Error("Connection terminated unexpectedly")],
        ["a closed PGlite", new Error("PGlite is closed")],
        ["Prisma: server unreachable", new Prisma.PrismaClientKnownRequestError("Can't reach database server", {code: "P1001", clientVersion})],
        ["Prisma: server closed the connection", new Prisma.PrismaClientKnownRequestError("Server has closed the connection.", {code: "P1017", clientVersion})],
        ["adapter-pg: not reachable, in a raw query", adapterFailure("P2010", {kind: "DatabaseNotReachable", host: "127.0.0.1", port: 5432})],
        ["adapter-pg: connection closed", adapterFailure("P2010", {kind: "ConnectionClosed"})],
        ["an administrator shutdown (57P01)", postgresError("57P01", "terminating connection due to administrator command")],
        ["the server starting up (57P03)", postgresError("57P03", "the database system is starting up")],
        ["a connection exception (08006)", adapterFailure("P2010", {kind: "postgres", code: "08006", message: "connection failure"})],
        ["a lost connection as the cause of another error", new Error("query failed", {cause: socketError("ECONNRESET")})],
    ])("is true for %s", (_what, error) => {
        expect(isConnectionError(error)).toBe(true);
    });

    it.each([
        ["a division by zero (22012)", adapterFailure("P2010", {kind: "postgres", code: "22012", message: "division by zero"})],
        ["a unique violation", new Prisma.PrismaClientKnownRequestError("Unique constraint failed", {code: "P2002", clientVersion})],
        ["a syntax error from the server", postgresError("42601", "syntax error at or near \"SELEC\"")],
        ["a plain error", new Error("something else")],
        ["a thrown string", "Connection terminated"],
        ["nothing", undefined],
    ])("is false for %s", (_what, error) => {
        expect(isConnectionError(error)).toBe(false);
    });

    it("survives a cause cycle", () => {
        const a = new Error("a");
        const b = new Error("b", {cause: a});
        Object.assign(a, {cause: b});
        expect(isConnectionError(a)).toBe(false);
    });
});

describe("asStoreError", () => {
    it("keeps a store error, and labels a lost connection unavailable and anything else internal, with the cause", () => {
        const coded = new StoreError("store/stale_epoch", "reset meanwhile");
        expect(asStoreError(coded, "checkpoint of k")).toBe(coded);

        const lost = socketError("ECONNREFUSED");
        const unavailable = asStoreError(lost, "checkpoint of k");
        expect(unavailable).toMatchObject({code: "store/unavailable", cause: lost});
        expect(unavailable.message).toBe("The database is unavailable (checkpoint of k): connect ECONNREFUSED 127.0.0.1:5432");

        const refused = postgresError("22003", "value out of range for type integer");
        expect(asStoreError(refused, "logging a turn of k")).toMatchObject({code: "store/internal", cause: refused, message: "logging a turn of k failed: value out of range for type integer"});
    });
});
