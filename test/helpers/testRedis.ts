import {createConnection} from "node:net";
import {Redis} from "ioredis";

/** The Redis server the tests that need one use; CI always has one on 127.0.0.1:6379. */
export const testRedisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** What is missing for tests that need Redis (`need` says why they do), or undefined when a server answers. */
export async function redisMissing(need: string): Promise<string | undefined> {
    const {hostname, port} = new URL(testRedisUrl);
    const ok = await new Promise<boolean>((resolve) => {
        const socket = createConnection({host: hostname, port: Number(port || 6379)});
        const done = (reached: boolean) => {
            socket.destroy();
            resolve(reached);
        };
        socket.setTimeout(1000);
        socket.once("connect", () => done(true)).once("error", () => done(false)).once("timeout", () => done(false));
    });
    return ok ? undefined : `${need}, and there is no Redis at ${testRedisUrl} (start redis-server or set REDIS_URL)`;
}

/** Deletes every key of the test deployments `names` (their streams, presences and marks), so that runs leave nothing behind. */
export async function dropDeployments(names: readonly string[]): Promise<void> {
    const redis = new Redis(testRedisUrl);
    try {
        for (const name of names) {
            const keys = await redis.keys(`${name}:*`);
            if (keys.length > 0) await redis.del(...keys);
        }
    } finally {
        redis.disconnect();
    }
}
