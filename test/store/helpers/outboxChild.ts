// A bot process for the outbox test: the real app answers a turn while its database connection
// is cut (a relay in this process), prints how the reply ended as JSON, then stays alive with the
// turn in its outbox until it is killed.
import {send, startApp, turnIn, RecordingSink} from "../../engine/runtimeHelpers.ts";
import {CuttableRelay} from "./CuttableRelay.ts";

const key = process.env.OUTBOX_KEY!;
const {relay, url} = await CuttableRelay.to(process.env.OUTBOX_DATABASE_URL!);
const app = await startApp(process.env.OUTBOX_DIR!, {DATABASE_URL: url, DB_AUTO_MIGRATE: "0", BOT_OUTBOX_DIR: process.env.OUTBOX_OUTBOX_DIR!});
await send(app, turnIn(key, "before the cut"));
const sink = new RecordingSink();
let cut: Promise<void> | undefined;
sink.onUpdate = () => void (cut ??= relay.down());
const outcome = await send(app, turnIn(key, "answered while the database is cut"), sink);
await cut;
console.log(JSON.stringify(outcome));
setInterval(() => undefined, 60_000);
