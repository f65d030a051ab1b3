import {readdirSync, readFileSync, statSync} from "node:fs";
import {join, relative} from "node:path";
import {fileURLToPath} from "node:url";
import {describe, expect, it} from "vitest";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const sourceDirs = ["src", "adapters", "engine", "native", "test", "bench", "scripts", "prisma", ".ci"];
const sourceFile = /\.(ts|js|mjs|cpp|h|cuh|cu|sh|prisma|txt)$|^run$/;

function* sources(dir: string): Generator<string> {
    for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (name === "fixtures" || name === "node_modules") continue;
        if (statSync(path).isDirectory()) yield* sources(path);
        else if (sourceFile.test(name)) yield path;
    }
}

/** Every `docs/<file>.md §N` the code cites, with the further `§M` of the same citation (`§5/§6`). */
function citations(): {where: string; doc: string; section: string}[] {
    const found: {where: string; doc: string; section: string}[] = [];
    for (const path of sourceDirs.flatMap((dir) => [...sources(join(repo, dir))])) {
        readFileSync(path, "utf8").split("\n").forEach((line, i) => {
            for (const match of line.matchAll(/docs\/([\w-]+\.md) §(\d+(?:\.\d+)?)((?:\/§\d+(?:\.\d+)?)*)/g)) {
                for (const section of [match[2] as string, ...(match[3] ?? "").split("/§").filter(Boolean)]) {
                    found.push({where: `${relative(repo, path)}:${i + 1}`, doc: match[1] as string, section});
                }
            }
        });
    }
    return found;
}

describe("the model notes the code cites", () => {
    const all = citations();

    it("are cited (the code points at docs/rwkv5.md)", () => {
        expect(all.filter((c) => c.doc === "rwkv5.md").length).toBeGreaterThan(30);
    });

    it("have every section the code cites", () => {
        const unresolved = all.filter(({doc, section}) => {
            const headings = readFileSync(join(repo, "docs", doc), "utf8").split("\n").filter((line) => line.startsWith("#"));
            return !headings.some((heading) => new RegExp(`^#{2,3} ${section.replace(".", "\\.")}\\.? `).test(heading));
        });
        expect(unresolved).toEqual([]);
    });

    it("are the only model notes: nothing points outside the repository", () => {
        const outside = sourceDirs
            .flatMap((dir) => [...sources(join(repo, dir))])
            .filter((path) => path !== fileURLToPath(import.meta.url))
            .flatMap((path) => readFileSync(path, "utf8").split("\n").map((line, i) => ({where: `${relative(repo, path)}:${i + 1}`, line})))
            .filter(({line}) => /RWKV5\.md|shared\/rwkv|shared\/reference|RWKV_SHARED_DIR/.test(line))
            .map(({where}) => where);
        expect(outside).toEqual([]);
    });
});
