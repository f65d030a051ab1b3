import {rmSync} from "node:fs";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {seededRandom} from "../helpers/seededRandom.ts";
import {createThrowawayDatabase} from "../store/helpers/testDatabases.ts";
import {BotProcess} from "./helpers/BotProcess.ts";
import {tinyBotDir, tinyBotEnv} from "./helpers/observedApp.ts";

// README: "Every finished turn is appended to the conversation's log before the reply is marked
// done", and a restart continues from it. The real app (router → scheduler → session → store →
// engine, database) runs in a child process and is SIGKILLed at random points
// of two conversations chatting at once; kill points are counted in sink calls the parent
// receives, so the same seed kills at the same points of the dialogue.
const conversations = ["console:killed-a", "console:killed-b"];
const turnsPerConversation = 8;
const kills = 5;

let dir: string;
let database: {url: string; drop(): Promise<void>};
let env: Record<string, string>;

/** A reply the user saw as complete. */
interface Seen {
    readonly user: string;
    readonly reply: string;
}

beforeAll(async () => {
    dir = tinyBotDir("rwkv-killed-bot-");
    // A Postgres server (the embedded database's SIGKILL recovery is the store tier's crash test):
    // a restart here takes seconds, not tens of them. Checkpoints every few turns, so kills land
    // before, during and after them as well as mid-reply.
    database = await createThrowawayDatabase();
    env = {...tinyBotEnv(dir), DATABASE_URL: database.url, CHECKPOINT_EVERY_TOKENS: "20", LEASE_MS: "1000"};
});

afterAll(async () => {
    await database?.drop();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
});

/**
 * Chats `conversation` from turn `next[conversation]` on until the bot dies or the turns run out;
 * records what the user saw complete. A turn refused because the killed predecessor's lease is
 * still running is asked again; any other failure fails the test.
 */
async function chat(bot: BotProcess, conversation: string, life: number, next: Map<string, number>, seen: Map<string, Seen[]>): Promise<void> {
    let attempt = 0;
    while ((next.get(conversation) ?? 0) < turnsPerConversation) {
        const n = next.get(conversation) ?? 0;
        const user = `${conversation.slice(-1)}${n} go`;
        const outcome = await bot.ask(`${conversation}#${n}@${life}.${attempt++}`, conversation, user);
        if (outcome.kind === "died") return;
        if (outcome.kind === "fail") {
            if (!outcome.text.startsWith("store/busy_elsewhere")) throw new Error(`turn ${user} failed: ${outcome.text}\n${bot.stderr}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
            continue;
        }
        seen.get(conversation)?.push({user, reply: outcome.text});
        next.set(conversation, n + 1);
    }
}

describe("the real bot killed with SIGKILL at random points", () => {
    it("has every reply a user saw in its log after restart, and then replies as an uninterrupted run", async () => {
        const random = seededRandom("killed bot");
        const next = new Map(conversations.map((key) => [key, 0]));
        const seen = new Map<string, Seen[]>(conversations.map((key) => [key, []]));
        const killPoints: number[] = [];
        let bot: BotProcess;
        for (;;) {
            bot = await BotProcess.start(env);
            if (killPoints.length === kills) break;
            // The kill point: the k-th sink call (streamed text, final reply) this bot reports.
            const killAfter = 1 + random.below(40);
            killPoints.push(killAfter);
            let calls = 0;
            const current = bot;
            current.onEvent = (event) => {
                if (event.type !== "ready" && event.type !== "transcript" && ++calls === killAfter) current.kill();
            };
            await Promise.all(conversations.map((key) => chat(current, key, killPoints.length, next, seen)));
            // A bot that finished every turn before its kill point is killed all the same.
            current.kill();
            await current.exited;
        }
        try {
            // The restarted bot first finishes the dialogue, unkilled.
            await Promise.all(conversations.map((key) => chat(bot, key, kills + 1, next, seen)));
            console.log(`killed bot: SIGKILL after sink calls ${killPoints.join(", ")}; ${[...seen.values()].map((s) => s.length).join(" + ")} replies seen complete`);
            for (const key of conversations) {
                const logged = await bot.transcript(key);
                // Whole exchanges only, in order, and every reply the user saw complete is among them.
                expect(logged.map((turn) => turn.role)).toEqual(logged.map((_, i) => (i % 2 === 0 ? "user" : "assistant")));
                const exchanges = Array.from({length: logged.length / 2}, (_, i) => ({user: logged[2 * i]?.text, reply: logged[2 * i + 1]?.text}));
                for (const shown of seen.get(key) ?? []) expect(exchanges).toContainEqual(shown);

                // The uninterrupted run: a fresh conversation told the logged messages in one go
                // gives the logged replies (greedy decoding), and then the same next reply.
                const control = `${key}-control`;
                const replies: string[] = [];
                for (const [i, exchange] of exchanges.entries()) {
                    const outcome = await bot.ask(`${control}#${i}`, control, exchange.user as string);
                    replies.push(outcome.kind === "complete" ? outcome.text : `(${outcome.kind})`);
                }
                expect(replies).toEqual(exchanges.map((exchange) => exchange.reply));
                const after = await bot.ask(`${key}#next`, key, "and next");
                const uninterrupted = await bot.ask(`${control}#next`, control, "and next");
                expect(after.kind).toBe("complete");
                expect(after).toEqual(uninterrupted);
            }
        } finally {
            await bot.stop();
        }
    }, 600_000);
});
