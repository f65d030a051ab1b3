// One bot process of a deployment: the whole bot as `npm start` composes it (config from the
// environment → createApp → createAdapters), on the loopback Slack in HTTP mode. It reports its
// events URL once serving and stops gracefully when told to; the parent reads replies in the fake,
// and shows the bot's log (stderr) when a test fails.
import type {SlackAdapter} from "../../../adapters/slack/SlackAdapter.ts";
import {createLogger} from "../../../src/ops/createLogger.ts";
import {startObservedApp, TurnObserver} from "./observedApp.ts";

const {app, adapters} = await startObservedApp(process.env as Record<string, string>, new TurnObserver(), createLogger({level: "info", format: "json"}));
const slack = adapters[0] as SlackAdapter;
process.on("message", (message: {type: string}) => {
    if (message.type === "stop") void app.stop().then(() => process.disconnect());
});
process.send?.({type: "ready", eventsUrl: `http://127.0.0.1:${slack.port}/slack/events`});
