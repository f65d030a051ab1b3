// Node socket failures: the server refused, dropped or never answered.
const socketCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
// Prisma: can't reach the server (P1001), timed out reaching it (P1002), server closed the connection (P1017).
const prismaCodes = new Set(["P1001", "P1002", "P1017"]);
// SQLSTATE class 08 (connection exception); admin, crash and startup shutdowns (57P01-03); too many connections (53300).
const sqlStatePattern = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
// What @prisma/adapter-pg reports a lost or refused connection as (DriverAdapterError's cause.kind).
const adapterKinds = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// Failures that come without a code: node-postgres losing its socket, pg-pool's connect timeout, a closed PGlite.
const messagePattern = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|PGlite is closed)/;

/**
 * Whether `error` means the database could not be reached or the connection
 * broke, rather than that the request itself failed: such a failure may pass
 * once the database is back. Looks through `cause` chains and Prisma's
 * `meta.driverAdapterError`, for the shapes of Prisma, @prisma/adapter-pg,
 * node-postgres and PGlite.
 */
export function isConnectionError(error: unknown): boolean {
    const seen = new Set<object>();
    const pending: unknown[] = [error];
    while (pending.length > 0) {
        const current = pending.pop();
        if (current === null || typeof current !== "object" || seen.has(current)) continue;
        seen.add(current);
        const {code, kind, message, cause, meta} = current as {code?: unknown, kind?: unknown, message?: unknown, cause?: unknown, meta?: {driverAdapterError?: unknown}};
        if (typeof code === "string" && (socketCodes.has(code) || prismaCodes.has(code) || sqlStatePattern.test(code))) return true;
        if (typeof kind === "string" && adapterKinds.has(kind)) return true;
        if (typeof message === "string" && messagePattern.test(message)) return true;
        pending.push(cause, meta?.driverAdapterError);
    }
    return false;
}
