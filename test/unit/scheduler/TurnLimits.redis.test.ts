import {randomUUID} from "node:crypto";
import {describe, expect, it} from "vitest";
import {TurnLimits} from "../../../src/scheduler/TurnLimits.ts";
import {requiredInCi} from "../../helpers/requiredInCi.ts";
import {redisMissing, testRedisUrl} from "../../helpers/testRedis.ts";

const redisUrl = testRedisUrl;
const missing = await redisMissing("the clustered limits need Redis");

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
