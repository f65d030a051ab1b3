// A DATABASE_URL naming a database the server does not have: refused at once, before the
// model is touched (loading a 12B model takes minutes), with the command that creates it.
import {randomBytes} from "node:crypto";
import {mkdtempSync, rmSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {afterAll, describe, expect, it} from "vitest";
import {runProcess} from "../helpers/runProcess.ts";
import {serverUrl} from "./helpers/testDatabases.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-missing-db-"));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

describe("npm start with a database that does not exist", () => {
    it("says so and how to create it, without retrying and before loading the model", async () => {
        const name = `rwkv_missing_${randomBytes(4).toString("hex")}`;
        const url = new URL(serverUrl);
        url.pathname = `/${name}`;
        // A model that does not exist either: had the model come first, its error would be the one shown.
        const result = await runProcess(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "src/main.ts")], {
            cwd: dir, env: {PATH: process.env.PATH ?? "", HOME: dir, DATABASE_URL: url.toString(), RWKV_MODEL_PATH: path.join(dir, "no-such-model.pth")},
        });
        expect(result.code).toBe(1);
        const host = `-h ${url.hostname}${url.port === "" ? "" : ` -p ${url.port}`}${url.username === "" ? "" : ` -U ${url.username}`}`;
        expect(result.stderr).toContain(`error: database "${name}" does not exist on the server of ${url.toString()} — create it with \`createdb ${host} ${name}\``);
        expect(result.stderr).toMatch(/\(store\/database_missing\)\n$/);
        expect(result.stderr).not.toMatch(/not reachable|no-such-model/);
    });
});
