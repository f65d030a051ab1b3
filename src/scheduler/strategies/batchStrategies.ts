import type {BatchStrategy} from "../BatchStrategy.ts";
import {fairRoundRobin} from "./fairRoundRobin.ts";
import {firstInFirstOut} from "./firstInFirstOut.ts";

/** The built-in strategies by name (`BATCH_STRATEGY`). */
export const batchStrategies = {fairRoundRobin, firstInFirstOut} as const satisfies Record<string, BatchStrategy>;

/** A name of {@link batchStrategies}. */
export type BatchStrategyName = keyof typeof batchStrategies;

/** Every {@link BatchStrategyName}. */
export const batchStrategyNames = Object.keys(batchStrategies) as BatchStrategyName[];
