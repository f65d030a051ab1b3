import type {Adapter} from "../../src/core/Adapter.ts";
import type {Env} from "../../src/core/EnvReader.ts";
import type {Logger} from "../../src/core/Logger.ts";
import type {Metrics} from "../../src/core/Metrics.ts";
import type {EditThrottle} from "./EditThrottle.ts";

/** What every adapter is built with besides its own settings; shared by all platforms of the process. */
export interface AdapterContext {
    /** The process-wide edit budget. */
    readonly editThrottle: EditThrottle;
    readonly log: Logger;
    /** Where platform API calls, retries and 429s are counted. */
    readonly metrics: Metrics;
}

/**
 * What `adapters/<platform>/index.ts` exports: its platform name, its config parser and its
 * factory. `adapters/registry.ts` lists every platform; config loading and start-up loop over it.
 */
export interface AdapterModule<Config> {
    /** The platform's name, as in `Turn.platform` and at the start of its conversation keys. */
    readonly platform: string;
    /**
     * Reads the platform's settings with an `EnvReader`. `config` is null when the platform is
     * off (its token unset) or misconfigured; `problems` lists every bad value, one sentence
     * each, never echoing a secret.
     */
    readonly parseConfig: (env: Env) => {config: Config | null; problems: string[]};
    /** Builds the adapter; it connects only when started. */
    readonly createAdapter: (config: Config, context: AdapterContext) => Adapter;
}

/** A platform the configuration turns on: its settings, ready to build its adapter. */
export interface EnabledAdapter {
    readonly platform: string;
    /** The platform's parsed settings (for display and tests; the factory has them already). */
    readonly config: unknown;
    create(context: AdapterContext): Adapter;
}

/** A registry entry: an {@link AdapterModule} with its config type hidden, so one list holds every platform. */
export interface RegisteredAdapter {
    readonly platform: string;
    /** Reads the platform's settings from `env`: the enabled adapter, or null when it is off. */
    configure(env: Env): {enabled: EnabledAdapter | null; problems: string[]};
}
