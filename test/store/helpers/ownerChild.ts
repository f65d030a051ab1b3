// A bot process for the lease tests: the real app serves one turn in OWNER_KEY, prints
// "serving", then stays alive holding the conversation until it is killed.
import {send, startApp, turnIn} from "../../engine/runtimeHelpers.ts";

const app = await startApp(process.env.OWNER_DIR!, JSON.parse(process.env.OWNER_ENV!) as Record<string, string>);
const outcome = await send(app, turnIn(process.env.OWNER_KEY!, "hello, I am the first process"));
console.log(outcome.kind === "complete" ? "serving" : `failed: ${outcome.error.code}`);
setInterval(() => undefined, 60_000);
