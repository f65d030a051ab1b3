import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {afterAll, afterEach, describe, expect, it} from "vitest";
import {loadEnvFile} from "../../../src/config/loadEnvFile.ts";
import {ConfigError} from "../../../src/errors/BotError.ts";

describe("loadEnvFile", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-loadenv-"));
    const names = ["RWKV_TEST_FROM_FILE", "RWKV_TEST_FROM_BOTH"];
    afterEach(() => {
        for (const name of names) delete process.env[name];
    });

    it("adds the file's variables, and the environment wins over the file", () => {
        const file = path.join(dir, "plain.env");
        writeFileSync(file, "RWKV_TEST_FROM_FILE=file value\nRWKV_TEST_FROM_BOTH=file\n");
        process.env.RWKV_TEST_FROM_BOTH = "environment";
        loadEnvFile(file);
        expect(process.env.RWKV_TEST_FROM_FILE).toBe("file value");
        expect(process.env.RWKV_TEST_FROM_BOTH).toBe("environment");
    });

    it("is a no-op without a file", () => {
        expect(() => loadEnvFile(path.join(dir, "absent.env"))).not.toThrow();
    });

    it("refuses a .env it cannot read with config/env_file", () => {
        const notAFile = path.join(dir, "directory.env");
        mkdirSync(notAFile);
        expect(() => loadEnvFile(notAFile)).toThrow(ConfigError);
        expect(() => loadEnvFile(notAFile)).toThrow(expect.objectContaining({code: "config/env_file"}));
    });

    afterAll(() => rmSync(dir, {recursive: true, force: true}));
});
