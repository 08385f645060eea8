/**
 * The bench scripts' command lines, read by criu-matrix's own option reader
 * (`readRawValues` in harness/cli/options.ts): an unknown option, a missing value or a bad value is
 * one line on stderr naming it and what is accepted, and exit status 2, before anything is built
 * or measured; `--help` prints the usage.
 *
 * @module
 */
import { formatUsage, HELP_SPEC, type OptionSpec, readRawValues } from "../harness/cli/options.ts";
import { InputError } from "../harness/core/errors.ts";

/**
 * Reads `Deno.args` of `script` against `specs` and turns the values (one per option) into what
 * the script needs with `read`, which throws {@link InputError} for a bad one. `--help` prints
 * `heading` and the options and exits 0; an {@link InputError} prints `SCRIPT: MESSAGE` and exits 2.
 */
export function readBenchOptions<T>(
  script: "bench" | "bench:history",
  heading: string[],
  specs: readonly OptionSpec[],
  read: (values: Map<string, string>) => T,
): T {
  const all = [...specs, HELP_SPEC];
  try {
    const { values } = readRawValues(Deno.args, all, script);
    if (values.has("help")) {
      console.log(formatUsage(heading, all));
      Deno.exit(0);
    }
    return read(new Map([...values].map(([name, given]) => [name, given[0]])));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    console.error(`${script}: ${error.message}`);
    Deno.exit(2);
  }
}
