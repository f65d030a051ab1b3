/** One benchmark of `npm run bench [-- <name>...]`, one file each under bench/. */
export interface Bench {
    /** The word that selects it: `npm run bench -- engine`. */
    readonly name: string;
    /** One line for the list. */
    readonly summary: string;
    /** Runs it and prints its table (figures, roofs, ratios) to stdout. */
    run(): Promise<void>;
}
