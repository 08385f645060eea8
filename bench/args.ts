/**
 * The bench scripts' command lines, read the way criu-matrix's own commands read theirs: an unknown
 * option, a missing value or a value outside its list is one line on stderr naming it and what is
 * accepted, and exit status 2, before anything is built or measured; `--help` prints the usage.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** What a bench script accepts: node:util's option descriptions, and the values some may take. */
export interface BenchOptions {
  [name: string]: { type: "string" | "boolean"; default?: string | boolean; choices?: string[] };
}

/** A command line this script does not accept; its message names the value and what is accepted. */
export class BenchUsageError extends Error {}

/**
 * Reads `args` against `options`. Throws {@link BenchUsageError} on an unknown option, a missing
 * value, or a value (of a comma-separated list, too) that is not one of its `choices`.
 *
 * @example
 * ```ts
 * import { readBenchArgs } from "./args.ts";
 * const options = { arch: { type: "string" as const, choices: ["x86_64", "aarch64"] } };
 * readBenchArgs(["--arch", "aarch64"], options).arch; // "aarch64"
 * try {
 *   readBenchArgs(["--arch", "s390x"], options);
 * } catch (error) {
 *   (error as Error).message; // "--arch s390x: accepted: x86_64, aarch64"
 * }
 * ```
 */
export function readBenchArgs(
  args: readonly string[],
  options: BenchOptions,
): Record<string, string | boolean | undefined> {
  let values: Record<string, string | boolean | undefined>;
  try {
    const described = Object.fromEntries(
      Object.entries(options).map((
        [name, { type, default: value }],
      ) => [name, { type, default: value }]),
    );
    values = parseArgs({ args: [...args], options: described, strict: true }).values;
  } catch (error) {
    const accepted = Object.keys(options).map((name) => `--${name}`).join(", ");
    throw new BenchUsageError(`${(error as Error).message.split("\n")[0]}; accepted: ${accepted}`);
  }
  for (const [name, { choices }] of Object.entries(options)) {
    const value = values[name];
    if (choices === undefined || typeof value !== "string") continue;
    const bad = value.split(",").filter((item) => !choices.includes(item));
    if (bad.length > 0) {
      throw new BenchUsageError(`--${name} ${bad.join(",")}: accepted: ${choices.join(", ")}`);
    }
  }
  return values;
}

/**
 * {@link readBenchArgs} for a script's `main`: `--help` prints `usage` and exits 0; a bad command
 * line prints `SCRIPT: MESSAGE` and exits 2.
 */
export function benchArgsOrExit(
  script: string,
  usage: string,
  options: BenchOptions,
): Record<string, string | boolean | undefined> {
  if (Deno.args.includes("--help")) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    return readBenchArgs(Deno.args, options);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    console.error(`${script}: ${error.message}`);
    Deno.exit(2);
  }
}
