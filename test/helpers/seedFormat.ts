import {expect} from "vitest";

/**
 * Checks one JSONL line against the seed's training format: `{"text": "<s>User:…\n\n</s>Assistant:…\n\n</s>…"}`,
 * user and assistant turns alternating, starting with the user, none holding the `\n\n` separator.
 * Returns the turns' texts.
 */
export function seedFormatTurns(line: string): string[] {
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(["text"]);
    const text = record.text as string;
    expect(text.startsWith("<s>")).toBe(true);
    expect(text.endsWith("\n\n</s>")).toBe(true);
    const turns = text.slice("<s>".length, -"\n\n</s>".length).split("\n\n</s>");
    expect(turns.length % 2).toBe(0);
    return turns.map((turn, i) => {
        const role = i % 2 === 0 ? "User:" : "Assistant:";
        expect(turn.startsWith(role), `turn ${i} of ${JSON.stringify(text)}`).toBe(true);
        return turn.slice(role.length);
    });
}
