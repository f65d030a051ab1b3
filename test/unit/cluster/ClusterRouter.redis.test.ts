import {randomBytes} from "node:crypto";
import {Redis} from "ioredis";
import {afterEach, describe, expect, it} from "vitest";
import {ClusterRouter} from "../../../src/cluster/ClusterRouter.ts";
import type {LoadRecord} from "../../../src/cluster/ClusterRouter.ts";
import type {ReplySink} from "../../../src/core/ReplySink.ts";
import {conversationKey} from "../../../src/core/Turn.ts";
import type {Turn} from "../../../src/core/Turn.ts";
import {requiredInCi} from "../../helpers/requiredInCi.ts";
import {dropDeployments, redisMissing, testRedisUrl} from "../../helpers/testRedis.ts";
import {silentLog} from "../../helpers/testLoggers.ts";

// Placement (README § Running several processes): a conversation nobody serves goes to the process
// that received its turn, unless that one is over its load limit (every slot resident, turns
// waiting) and another is not; a conversation someone serves goes to it whatever its load. Two
// routers on a real Redis, their processes reduced to who answered what.
const missing = await redisMissing("the processes of a deployment route turns over Redis");

const idle: LoadRecord = {slots: 2, resident: 0, queueDepth: 0};
const overloaded: LoadRecord = {slots: 2, resident: 2, queueDepth: 3};

interface Member {
    readonly router: ClusterRouter;
    load: LoadRecord;
}

let routers: ClusterRouter[] = [];
let name = "";

afterEach(async () => {
    for (const router of routers) await router.close();
    routers = [];
    await dropDeployments([name]);
});

describe.runIf(requiredInCi(missing))("ClusterRouter placement over Redis", () => {
    /** Processes `names`, answering every turn with their own name; `holders` says who serves which conversation. */
    async function deployment(names: string[], holders: Record<string, string>): Promise<{members: Record<string, Member>; answered: Map<string, Promise<string>>; send(via: string, id: string, conversation: string): void}> {
        name = `rwkv-test-${randomBytes(4).toString("hex")}`;
        const answers = new Map<string, (by: string) => void>();
        const answered = new Map<string, Promise<string>>();
        const members: Record<string, Member> = {};
        for (const self of names) {
            const member: {router?: ClusterRouter; load: LoadRecord} = {load: idle};
            const router = new ClusterRouter({
                // Presences renewed every 200 ms: a changed load is published within a beat.
                redisUrl: testRedisUrl, name, self, leaseMs: 600, log: silentLog,
                local: async (turn, sink) => sink.complete(self),
                holderOf: async (conversation) => holders[conversation] ?? null,
                sinkFor: (_platform, address) => sinkOf(address.turn ?? ""),
                load: () => member.load,
            });
            member.router = router;
            members[self] = member as Member;
            routers.push(router);
            await router.start();
        }
        const sinkOf = (id: string): ReplySink => ({
            typing: async () => undefined, update: async () => undefined,
            complete: async (by) => answers.get(id)?.(by),
            fail: async (error) => answers.get(id)?.(`failed: ${error.code}`),
        });
        const send = (via: string, id: string, conversation: string): void => {
            answered.set(id, new Promise((resolve) => answers.set(id, resolve)));
            const turn: Turn = {
                id, platform: "test", conversation: conversationKey(conversation), author: {id: "u", name: "u", isAdmin: false},
                text: "hi", receivedAt: 0, signal: new AbortController().signal, replyAddress: {turn: id},
            };
            void members[via]!.router.handler(turn, sinkOf(id));
        };
        return {members, answered, send};
    }

    /** Waits until `self`'s published presence carries `load` (its next beat). */
    async function published(self: string, load: LoadRecord): Promise<void> {
        const redis = new Redis(testRedisUrl);
        try {
            while (JSON.stringify((JSON.parse(await redis.get(`${name}:live:${self}`) ?? "{}") as {load?: LoadRecord}).load) !== JSON.stringify(load)) {
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        } finally {
            redis.disconnect();
        }
    }

    it("answers a conversation nobody serves where it arrives, unless that process is over its limit and another is not: then the least loaded", async () => {
        const {members, answered, send} = await deployment(["a", "b", "c"], {});
        send("a", "t1", "conv:1");
        expect(await answered.get("t1")).toBe("a");

        // a and b have every slot taken and turns waiting; c has room.
        const busy = {slots: 2, resident: 2, queueDepth: 1};
        members.a!.load = overloaded;
        members.b!.load = busy;
        const roomy = {slots: 2, resident: 1, queueDepth: 0};
        members.c!.load = roomy;
        await Promise.all([published("a", overloaded), published("b", busy), published("c", roomy)]);
        send("a", "t2", "conv:2");
        send("b", "t3", "conv:3");
        expect([await answered.get("t2"), await answered.get("t3")]).toEqual(["c", "c"]);
        send("c", "t4", "conv:4");
        expect(await answered.get("t4")).toBe("c");

        // Nobody has room: it stays where it arrived.
        members.c!.load = overloaded;
        await published("c", overloaded);
        send("a", "t5", "conv:5");
        expect(await answered.get("t5")).toBe("a");
    });

    it("sends a conversation someone serves to it, however loaded", async () => {
        const {members, answered, send} = await deployment(["a", "b"], {"conv:held": "a"});
        members.a!.load = overloaded;
        await published("a", overloaded);
        send("b", "t1", "conv:held");
        expect(await answered.get("t1")).toBe("a");
    });
});
