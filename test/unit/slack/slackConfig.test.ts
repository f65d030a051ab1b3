import {describe, expect, it} from "vitest";
import {parseSlackConfig} from "../../../adapters/slack/slackConfig.ts";

describe("parseSlackConfig", () => {
    it("is null without a bot token", () => {
        expect(parseSlackConfig({})).toEqual({config: null, problems: []});
    });

    it("reads HTTP mode with defaults", () => {
        const {config, problems} = parseSlackConfig({SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s"});
        expect(problems).toEqual([]);
        expect(config).toEqual({
            botToken: "xoxb-1", mode: {kind: "http", signingSecret: "s", port: 3000}, apiUrl: "https://slack.com/api/",
            adminUserIds: new Set(), command: "/rwkv",
        });
    });

    it("reads Socket Mode, overrides and the admin allow-list", () => {
        const {config} = parseSlackConfig({
            SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1", SLACK_API_URL: "http://127.0.0.1:9/api",
            SLACK_ADMIN_USER_IDS: "U1, U2 U3", SLACK_BOT_USER_ID: "UBOT", SLACK_BOT_ID: "BBOT", SLACK_COMMAND: "/llm",
        });
        expect(config).toMatchObject({
            mode: {kind: "socket", appToken: "xapp-1"}, apiUrl: "http://127.0.0.1:9/api/", command: "/llm",
            botUserId: "UBOT", botId: "BBOT",
        });
        expect([...(config?.adminUserIds ?? [])]).toEqual(["U1", "U2", "U3"]);
    });

    it("lists every problem", () => {
        expect(parseSlackConfig({SLACK_BOT_TOKEN: "xoxb-1"}).problems).toEqual([
            "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor SLACK_APP_TOKEN (Socket Mode) is",
        ]);
        const {config, problems} = parseSlackConfig({
            SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s", SLACK_PORT: "99999", SLACK_API_URL: "ftp://x", SLACK_COMMAND: "rwkv",
        });
        expect(config).toBeNull();
        expect(problems).toHaveLength(3);
        expect(parseSlackConfig({SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xoxb-2"}).problems[0]).toMatch(/SLACK_APP_TOKEN/);
    });
});
