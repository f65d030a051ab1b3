import {ProgressBar} from "../adapters/console/ProgressBar.ts";
import {createAdapters} from "./app/createAdapters.ts";
import {createApp} from "./app/createApp.ts";
import type {App} from "./app/createApp.ts";
import {serveOps} from "./app/serveOps.ts";
import {createLogger} from "./ops/createLogger.ts";
import {handleStopSignals} from "./app/handleStopSignals.ts";
import {loadConfig} from "./config/loadConfig.ts";
import {loadEnvFile} from "./config/loadEnvFile.ts";
import {BotError} from "./errors/BotError.ts";

/** `npm start`: the bot on the configured platforms, or a console chat when none is configured. */
async function main(): Promise<number> {
    loadEnvFile();
    const config = loadConfig(process.env);
    const log = createLogger({level: config.ops.logLevel, format: config.ops.logFormat});
    // From the very start: a signal during the model load aborts it instead of killing the process.
    const stopRequested = new AbortController();
    const stop = (): void => stopRequested.abort();
    const removeSignalHandlers = handleStopSignals({onStop: stop, log, exit: (code) => process.exit(code)});
    let app: App | null = null;
    const ops = await serveOps(config.ops, log, () => app);
    const progress = new ProgressBar(process.stderr, "loading model");
    try {
        app = await createApp(config, {
            log, ...(ops === null ? {} : {metrics: ops.metrics}),
            signal: stopRequested.signal,
            onLoadProgress: (fraction) => progress.update(fraction),
            adapters: (context) => createAdapters(config, {...context, console: {input: process.stdin, output: process.stdout, onEnd: stop}}),
        }).finally(() => progress.done());
        if (!stopRequested.signal.aborted) {
            await app.start();
            await new Promise((resolve) => stopRequested.signal.addEventListener("abort", resolve, {once: true}));
        }
        log.info("shutting down");
        await app.stop();
        log.info("stopped cleanly");
        return 0;
    } catch (error) {
        if (stopRequested.signal.aborted && error instanceof BotError && error.code === "engine/aborted") {
            log.info("stopped during the model load");
            return 0;
        }
        throw error;
    } finally {
        removeSignalHandlers();
        await ops?.server.close();
    }
}

try {
    process.exitCode = await main();
} catch (error) {
    // Expected failures (configuration, model, database) carry a code: a message, no stack.
    if (error instanceof BotError) console.error(`error: ${error.message} (${error.code})`);
    else console.error("error: unexpected failure", error);
    process.exitCode = 1;
}
