/**
 * The command line: `matrix` runs a matrix (or one shard of it), `plan` prints its shards as a
 * CI job matrix, `merge` combines shard results, `report --in DIR` re-renders the reports of a
 * past run from its results.json, `bisect` finds the CRIU commit that broke one cell, `repro`
 * writes a directory that reproduces one cell without the harness. Each
 * command is in its own file beside this one; here only the exit status of a failure is chosen,
 * by the error's class: {@link InputError} 2 (nothing ran), anything else 1.
 *
 * Exit status of a command that finished: `matrix` and `merge` see EXIT_CODES in
 * harness/core/exit_codes.ts (0 all pass/xfail/skip, 1 infrastructure error, 2 usage, 3
 * regression, 4 unexpected-fail/xpass/flaky, 130 interrupted; the lowest non-zero wins); `plan`
 * and `report` 0; `bisect` BISECT_EXIT_CODES in the same file.
 *
 * @module
 */
import { InfraError, InputError } from "../core/errors.ts";
import { exitCodeOfError } from "../core/exit_codes.ts";
import { bisectCommand } from "./bisect.ts";
import { log } from "./log.ts";
import { matrixCommand } from "./matrix.ts";
import { mergeCommand } from "./merge.ts";
import { planCommand } from "./plan.ts";
import { reportCommand } from "./report.ts";
import { reproCommand } from "./repro.ts";

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  matrix: matrixCommand,
  plan: planCommand,
  merge: mergeCommand,
  report: reportCommand,
  bisect: bisectCommand,
  repro: reproCommand,
};

/** A failure of the host's file system or of a program: the harness's side, not the input. */
function isHostFailure(error: unknown): boolean {
  return error instanceof InfraError ||
    Object.values(Deno.errors).some((kind) => error instanceof kind);
}

/**
 * Runs the command line `args` and resolves to the exit status. Bad input and host failures end
 * in one line naming what went wrong; anything else is a bug of the harness and keeps its stack.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["plot"]); // 2, after `criu-matrix: unknown command "plot"; accepted: ...`
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    const run = COMMANDS[command ?? ""];
    if (run === undefined) {
      throw new InputError(
        `unknown command "${command ?? ""}"; accepted: ${Object.keys(COMMANDS).join(", ")}`,
      );
    }
    return await run(rest);
  } catch (error) {
    if (!(error instanceof InputError) && !isHostFailure(error)) throw error;
    log((error as Error).message);
    return exitCodeOfError(error);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
