import type {AdapterModule, RegisteredAdapter} from "./AdapterModule.ts";

/** Makes a registry entry of a platform's `index.ts` (see `adapters/registry.ts`). */
export function registerAdapter<Config>(module: AdapterModule<Config>): RegisteredAdapter {
    return {
        platform: module.platform,
        configure(env) {
            const {config, problems} = module.parseConfig(env);
            if (config === null) return {enabled: null, problems};
            return {enabled: {platform: module.platform, config, create: (context) => module.createAdapter(config, context)}, problems};
        },
    };
}
