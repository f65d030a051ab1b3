import {expect, it} from "vitest";
import {RecentIds} from "../../../adapters/slack/RecentIds.ts";

it("reports an id seen within the window, forgets it after, and stays bounded", () => {
    let now = 0;
    const ids = new RecentIds(3, 1000, () => now);
    expect(ids.checkAndAdd("a")).toBe(false);
    expect(ids.checkAndAdd("a")).toBe(true);
    now = 999;
    expect(ids.checkAndAdd("a")).toBe(true);
    now = 1000;
    expect(ids.checkAndAdd("a")).toBe(false);
    for (const id of ["b", "c", "d"]) expect(ids.checkAndAdd(id)).toBe(false);
    expect(ids.checkAndAdd("a")).toBe(false);
    expect(ids.checkAndAdd("d")).toBe(true);
});
