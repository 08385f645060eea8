/**
 * The options a matrix run was started with, recorded in its directory, so that `--resume DIR`
 * alone continues it: the recorded options fill in what is not given, and an option given
 * again with another value is refused naming both.
 *
 * @module
 */

import { join } from "node:path";
import { requireRegularFile } from "../core/confined_path.ts";
import { InputError } from "../core/errors.ts";
import { readArray, readRecord, readString, ShapeError } from "../core/json_shape.ts";

/** The file in a run directory that holds the options it was started with. */
export const OPTIONS_FILE_NAME = "options.json";

/**
 * The options that decide what a run is (its plan, its timeouts, its reruns). Others (`--jobs`,
 * `--baseline`) may differ on resume.
 */
export const RECORDED_OPTIONS = [
  "arch",
  "criu",
  "case",
  "kernel",
  "cpu",
  "zdtm",
  "shard",
  "timeout-scale",
  "rerun-failed",
] as const;

/**
 * Writes the recorded options of `values` (the options as read from the command line) to
 * `DIR/options.json`, creating `dir`.
 *
 * @example
 * ```ts
 * import { recordOptions } from "./recorded_options.ts";
 * await recordOptions(await Deno.makeTempDir(), new Map([["arch", ["x86_64"]], ["jobs", ["2"]]]));
 * // options.json: { "options": { "arch": ["x86_64"] } }
 * ```
 */
export async function recordOptions(
  dir: string,
  values: ReadonlyMap<string, readonly string[]>,
): Promise<void> {
  const options = Object.fromEntries(
    RECORDED_OPTIONS.flatMap((name) => values.has(name) ? [[name, values.get(name)]] : []),
  );
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, OPTIONS_FILE_NAME),
    `${JSON.stringify({ options }, null, 2)}\n`,
  );
}

/**
 * The options `dir` was started with, or null for a run of an older criu-matrix that did not
 * record them. Throws {@link InputError} for a file that is not a regular file or not valid.
 */
export async function readRecordedOptions(dir: string): Promise<Map<string, string[]> | null> {
  const path = join(dir, OPTIONS_FILE_NAME);
  try {
    await requireRegularFile(path);
    const record = readRecord(JSON.parse(await Deno.readTextFile(path)), "");
    const options = readRecord(record.options, "options");
    const recorded = new Map<string, string[]>();
    for (const name of RECORDED_OPTIONS) {
      if (options[name] === undefined) continue;
      recorded.set(name, readArray(options[name], `options.${name}`, readString));
    }
    return recorded;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    const problem = error instanceof ShapeError || error instanceof SyntaxError
      ? `not a valid options file (${error.message})`
      : (error as Error).message;
    throw new InputError(`--resume ${dir}: ${path}: ${problem}`);
  }
}

/**
 * The command-line values of a resumed run: those given, plus the recorded ones not given.
 * An option given with another value than recorded (or given when the run used its default)
 * throws {@link InputError} naming both values.
 *
 * @example
 * ```ts
 * import { mergeRecordedOptions } from "./recorded_options.ts";
 * const given = new Map([["resume", ["out/run"]], ["jobs", ["1"]]]);
 * const recorded = new Map([["arch", ["x86_64"]]]);
 * mergeRecordedOptions(given, recorded, "out/run").get("arch"); // ["x86_64"]
 * ```
 */
export function mergeRecordedOptions(
  given: ReadonlyMap<string, string[]>,
  recorded: ReadonlyMap<string, string[]>,
  dir: string,
): Map<string, string[]> {
  const merged = new Map(given);
  for (const name of RECORDED_OPTIONS) {
    const now = given.get(name);
    const then = recorded.get(name);
    if (now !== undefined && now.join(",") !== then?.join(",")) {
      throw new InputError(
        `--${name}: the run in ${dir} was started with ${
          then === undefined ? `no --${name} (its default)` : `--${name} ${then.join(",")}`
        }, not ${now.join(",")}; --resume ${dir} alone continues it with its own options`,
      );
    }
    if (then !== undefined) merged.set(name, then);
  }
  return merged;
}
