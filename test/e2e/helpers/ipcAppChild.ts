// The real bot (loadConfig → createApp: router, scheduler, session, store, engine) in a child
// process, its only platform a test adapter on the IPC channel: the parent sends turns and reads
// every sink call, so it knows exactly which replies a user saw as complete before it kills us.
// Config comes from the environment, as for `npm start`.
import type {Adapter, TurnHandler} from "../../../src/core/Adapter.ts";
import {createApp} from "../../../src/app/createApp.ts";
import {conversationKey} from "../../../src/core/Turn.ts";
import {loadConfig} from "../../../src/config/loadConfig.ts";
import {quietLog} from "./observedApp.ts";
import type {ChildEvent, ParentCommand} from "./ipcProtocol.ts";

const send = (event: ChildEvent) => process.send?.(event);

let handler: TurnHandler | null = null;
const adapter: Adapter = {
    platform: "console",
    connected: true,
    start: async (onTurn) => void (handler = onTurn),
    stop: async () => void (handler = null),
};

const app = await createApp(loadConfig(process.env), {log: quietLog, adapters: () => [adapter]});
await app.start();

process.on("message", (message: ParentCommand) => {
    if (message.type === "stop") {
        void app.stop().then(() => process.disconnect());
        return;
    }
    if (message.type === "transcript") {
        void app.store.transcript(message.conversation).then((turns) => send({type: "transcript", conversation: message.conversation, turns: turns.map(({role, text}) => ({role, text}))}));
        return;
    }
    const {id, conversation, text} = message;
    void handler?.({
        id, platform: "console", conversation: conversationKey(conversation), author: {id: "tester", name: "tester", isAdmin: true},
        text, receivedAt: Date.now(), signal: new AbortController().signal,
    }, {
        typing: async () => {},
        update: async (textSoFar) => void send({type: "update", id, text: textSoFar}),
        complete: async (reply) => void send({type: "complete", id, text: reply}),
        fail: async (error) => void send({type: "fail", id, text: `${error.code}: ${error.message}`}),
    });
});
send({type: "ready"});
