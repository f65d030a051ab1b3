import {ConsoleAdapter} from "../../adapters/console/ConsoleAdapter.ts";
import type {AdapterContext} from "../../adapters/shared/AdapterModule.ts";
import type {BotConfig} from "../config/BotConfig.ts";
import type {Adapter} from "../core/Adapter.ts";

/** What the adapters are built with: the shared context, and the console's streams for when no platform is on. */
export interface AdapterStartup extends AdapterContext {
    /** The console adapter's streams; it ends the process's session when its input ends. */
    readonly console: {readonly input: NodeJS.ReadableStream; readonly output: NodeJS.WritableStream; readonly onEnd?: () => void};
}

/**
 * The adapters of the platforms the config enables (each registered platform whose settings
 * are set); with none, the console adapter, so the bot is usable with no chat platform at all.
 */
export function createAdapters(config: BotConfig, context: AdapterStartup): Adapter[] {
    const adapters = config.adapters.map((platform) => platform.create(context));
    if (adapters.length > 0) return adapters;
    return [new ConsoleAdapter({
        input: context.console.input as ConstructorParameters<typeof ConsoleAdapter>[0]["input"],
        output: context.console.output as ConstructorParameters<typeof ConsoleAdapter>[0]["output"],
        conversation: config.consoleConversation,
        ...(context.console.onEnd === undefined ? {} : {onEnd: context.console.onEnd}),
    })];
}
