/**
 * The command line: `matrix` runs a matrix (or one shard of it), `plan` prints its shards as a
 * CI job matrix, `merge` combines shard results, `report --in DIR` re-renders the reports of a
 * past run from its results.json, `bisect` finds the CRIU commit that broke one cell.
 *
 * Exit status of `matrix` and `merge`: see {@link EXIT_CODES} (0 all pass/xfail/skip, 1
 * infrastructure error, 2 usage, 3 regression, 4 unexpected-fail/xpass/flaky, 130 interrupted;
 * the lowest non-zero wins). `plan` and `report`: 0, or 2 for a usage error. `bisect`: see
 * BISECT_EXIT_CODES in harness/core/exit_codes.ts.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { bisectCommand } from "./bisect.ts";
import { matrixCommand } from "./matrix.ts";
import { mergeCommand } from "./merge.ts";
import { planCommand } from "./plan.ts";
import { reportCommand } from "./report.ts";

/**
 * Runs the command line `args` and resolves to the exit status.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["matrix", "--list"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "matrix":
        return await matrixCommand(rest);
      case "plan":
        return await planCommand(rest);
      case "merge":
        return await mergeCommand(rest);
      case "report":
        return await reportCommand(rest);
      case "bisect":
        return await bisectCommand(rest);
      default:
        throw new InputError(
          `unknown command "${command ?? ""}"; accepted: matrix, plan, merge, report, bisect`,
        );
    }
  } catch (error) {
    if (error instanceof InputError) {
      console.error(`criu-matrix: ${error.message}`);
      return 2;
    }
    if (error instanceof Error && error.name !== "Error" && !(error instanceof TypeError)) {
      console.error(`criu-matrix: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
