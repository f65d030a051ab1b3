import {EnvReader} from "../../src/core/EnvReader.ts";
import type {Env} from "../../src/core/EnvReader.ts";

/** How the Slack adapter receives events. */
export type SlackMode =
    /** Slack POSTs signed requests to our HTTP endpoint (`/slack/events`). */
    | {readonly kind: "http"; readonly signingSecret: string; readonly port: number; readonly host?: string}
    /** We open a WebSocket to Slack with an app-level token; no public URL needed. */
    | {readonly kind: "socket"; readonly appToken: string};

/** Everything the Slack adapter reads from the environment. */
export interface SlackConfig {
    readonly botToken: string;
    readonly mode: SlackMode;
    /** Web API base URL, ending in `/` (a proxy, or a fake in tests). */
    readonly apiUrl: string;
    /** Users who may run admin commands regardless of their workspace role. */
    readonly adminUserIds: ReadonlySet<string>;
    /** The slash command the app registers, e.g. `/rwkv`. */
    readonly command: string;
    /** Known ids of the bot; when absent Bolt asks `auth.test` once. */
    readonly botUserId?: string;
    readonly botId?: string;
}

const defaultApiUrl = "https://slack.com/api/";
const defaultPort = 3000;

/**
 * Reads the Slack settings. `config` is null when `SLACK_BOT_TOKEN` is unset (Slack is not
 * configured); otherwise every problem found is listed, and `config` is null when any exists.
 */
export function parseSlackConfig(env: Env): {config: SlackConfig | null; problems: string[]} {
    const read = new EnvReader(env);
    const botToken = read.string("SLACK_BOT_TOKEN");
    if (botToken === undefined) return {config: null, problems: []};

    const appToken = read.string("SLACK_APP_TOKEN");
    const signingSecret = read.string("SLACK_SIGNING_SECRET");
    let mode: SlackMode | undefined;
    if (appToken !== undefined) {
        if (!appToken.startsWith("xapp-")) read.problems.push("SLACK_APP_TOKEN must be an app-level token (xapp-…)");
        mode = {kind: "socket", appToken};
    } else if (signingSecret !== undefined) {
        const port = read.integer("SLACK_PORT", defaultPort, 0, 65535);
        const host = read.string("SLACK_HOST");
        mode = {kind: "http", signingSecret, port, ...(host === undefined ? {} : {host})};
    } else {
        read.problems.push("SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor SLACK_APP_TOKEN (Socket Mode) is");
    }

    let apiUrl = read.url("SLACK_API_URL", ["https:", "http:"]) ?? defaultApiUrl;
    if (!apiUrl.endsWith("/")) apiUrl += "/";

    const command = read.string("SLACK_COMMAND") ?? "/rwkv";
    if (!/^\/[a-z0-9_-]+$/.test(command)) read.problems.push(`SLACK_COMMAND must look like "/rwkv", got "${command}"`);

    const adminUserIds = new Set((read.string("SLACK_ADMIN_USER_IDS") ?? "").split(/[\s,]+/).filter((id) => id !== ""));
    const botUserId = read.string("SLACK_BOT_USER_ID");
    const botId = read.string("SLACK_BOT_ID");

    if (read.problems.length > 0 || mode === undefined) return {config: null, problems: read.problems};
    return {
        config: {
            botToken, mode, apiUrl, adminUserIds, command,
            ...(botUserId === undefined ? {} : {botUserId}),
            ...(botId === undefined ? {} : {botId}),
        },
        problems: read.problems,
    };
}
