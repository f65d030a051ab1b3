/** Whether this run is CI (`CI` set, and not to `0` or `false`), where no test may be skipped for lack of a service or file. */
export function inCi(): boolean {
    const value = process.env.CI?.trim().toLowerCase();
    return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

/**
 * Whether the tests that need something a machine may lack (a service, a device) can run; `missing`
 * says what is missing, `undefined` when nothing is. Outside CI they are then skipped, saying why.
 * Under CI a skip would turn the run green without the feature, so this throws instead, which fails
 * the test file with the reason. Use: `describe.runIf(requiredInCi(missing))(…)`.
 */
export function requiredInCi(missing: string | undefined): boolean {
    if (missing === undefined) return true;
    if (inCi()) throw new Error(`${missing}: CI runs these tests, it does not skip them`);
    console.warn(`skipping: ${missing}`);
    return false;
}
