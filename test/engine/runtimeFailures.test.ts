// The runtime's failure paths on the tiny model: store failures mid-job, long jobs, shutdown races.
import {rmSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import type {App} from "../../src/app/createApp.ts";
import {StoreError} from "../../src/errors/BotError.ts";
import {loggedTokens, RecordingSink, scratchDir, send, startApp, turnIn} from "./runtimeHelpers.ts";

let dir: string;
beforeAll(() => void (dir = scratchDir()));
afterAll(() => rmSync(dir, {recursive: true, force: true}));


describe("the runtime when parts fail", () => {
    let app: App | undefined;
    afterAll(() => app?.stop());

    it("a failed policy checkpoint after a delivered reply is logged, not sent as a second answer", async () => {
        app = await startApp(dir, {CHECKPOINT_EVERY_TOKENS: "1"});
        const store = app.store;
        const checkpoint = store.checkpoint.bind(store);
        store.checkpoint = () => Promise.reject(new StoreError("store/unavailable", "the database went away"));
        try {
            const sink = new RecordingSink();
            await expect(app.handler(turnIn("ckfail:1", "hello"), sink)).resolves.toBeUndefined();
            expect(await sink.outcome).toMatchObject({kind: "complete"});
        } finally {
            store.checkpoint = checkpoint;
        }
        expect((await loggedTokens(app, "ckfail:1")).map((turn) => turn.role)).toEqual(["user", "assistant"]);
    });

    it("a reset that fails after the store changed leaves no slot ahead of the log", async () => {
        app ??= await startApp(dir);
        const key = "resetfail:1";
        await send(app, turnIn(key, "remember this"));
        const store = app.store;
        const appendTurn = store.appendTurn.bind(store);
        let failed = false;
        store.appendTurn = (k, turn) => {
            if (turn.role === "system" && !failed) {
                failed = true;
                return Promise.reject(new StoreError("store/unavailable", "the database went away"));
            }
            return appendTurn(k, turn);
        };
        try {
            expect(await send(app, turnIn(key, "/persona You are a cat."))).toMatchObject({kind: "fail"});
        } finally {
            store.appendTurn = appendTurn;
        }
        await send(app, turnIn(key, "hi"));
        // The slot must hold what the log restores: the persona was fed, so it must be in the log.
        const roles = (await loggedTokens(app, key)).map((turn) => turn.role);
        expect(roles).toEqual(["system", "user", "assistant"]);
    });

    it("renews the lease of a conversation busy with a job longer than the lease", async () => {
        const busy = await startApp(dir, {LEASE_MS: "1000"});
        try {
            const key = "lease:1";
            await send(busy, turnIn(key, "hello"));
            let inJob = false;
            let renewedDuringJob: () => void = () => undefined;
            const renewal = new Promise<void>((resolve) => (renewedDuringJob = resolve));
            const acquire = busy.store.acquireLease.bind(busy.store);
            busy.store.acquireLease = (k) => {
                if (k === key && inJob) renewedDuringJob();
                return acquire(k);
            };
            // The job ends only once the lease was renewed while it ran: without renewals it
            // never ends and the test times out.
            await busy.scheduler.exclusive(turnIn(key, ""), () => {
                inJob = true;
                return renewal;
            });
        } finally {
            await busy.stop();
        }
    });

    it("refuses a chat turn that passed the limits while shutdown began", async () => {
        const late = await startApp(dir, {USER_COOLDOWN_MS: "100"});
        const sink = new RecordingSink();
        const handled = late.handler(turnIn("late:1", "hello"), sink);
        await late.stop();
        await handled;
        expect(await sink.outcome).toMatchObject({kind: "fail", error: {code: "scheduler/shutting_down"}});
    });
});
