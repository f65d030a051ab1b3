import {randomUUID} from "node:crypto";
import {createConnection} from "node:net";
import {describe, expect, it} from "vitest";
import {TurnLimits} from "../../../src/scheduler/TurnLimits.ts";
import {requiredInCi} from "../../helpers/requiredInCi.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

async function reachable(url: string): Promise<boolean> {
    const {hostname, port} = new URL(url);
    return new Promise((resolve) => {
        const socket = createConnection({host: hostname, port: Number(port || 6379)});
        const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(1000);
        socket.once("connect", () => done(true)).once("error", () => done(false)).once("timeout", () => done(false));
    });
}

const missing = (await reachable(redisUrl)) ? undefined : `the clustered limits need Redis, and there is none at ${redisUrl} (start redis-server or set REDIS_URL)`;

describe.runIf(requiredInCi(missing))("TurnLimits clustered over Redis", () => {
    it("shares a user's cooldown between two processes", async () => {
        const options = {maxConcurrent: 1, queueMax: 4, userCooldownMs: 2000, conversationMaxPending: 3, redisUrl};
        const [first, second] = [new TurnLimits(options), new TurnLimits(options)];
        const user = `user-${randomUUID()}`;
        try {
            await first.check(user, 0);
            await expect(second.check(user, 0)).rejects.toMatchObject({code: "scheduler/rate_limited"});
            await second.check(`other-${randomUUID()}`, 0);
        } finally {
            await first.stop();
            await second.stop();
        }
    });
});
