import {ProgressBar} from "../adapters/console/ProgressBar.ts";
import {createAdapters} from "./app/createAdapters.ts";
import {createApp} from "./app/createApp.ts";
import type {App} from "./app/createApp.ts";
import {stderrLogger} from "./core/Logger.ts";
import {loadConfig} from "./config/loadConfig.ts";
import {loadEnvFile} from "./config/loadEnvFile.ts";
import {BotError} from "./errors/BotError.ts";

/** `npm start`: the bot on the configured platforms, or a console chat when none is configured. */
async function main(): Promise<number> {
    loadEnvFile();
    const config = loadConfig(process.env);
    const progress = new ProgressBar(process.stderr, "loading model");
    let app: App | undefined;
    let ended!: () => void;
    const finished = new Promise<void>((resolve) => (ended = resolve));
    app = await createApp(config, {
        onLoadProgress: (fraction) => progress.update(fraction),
        adapters: (context) => createAdapters(config, {...context, console: {input: process.stdin, output: process.stdout, onEnd: ended}}),
    });
    progress.done();
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, ended);
    await app.start();
    await finished;
    stderrLogger.info("shutting down");
    await app.stop();
    app = undefined;
    return 0;
}

try {
    process.exitCode = await main();
} catch (error) {
    // Expected failures (configuration, model, database) carry a code: a message, no stack.
    if (error instanceof BotError) console.error(`error: ${error.message} (${error.code})`);
    else console.error("error: unexpected failure", error);
    process.exitCode = 1;
}
