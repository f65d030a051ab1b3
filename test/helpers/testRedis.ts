import {createConnection} from "node:net";

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
