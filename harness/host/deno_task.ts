/**
 * Starting a task of this project's deno.json again, in a fresh process: the task's permissions
 * are stated once, in deno.json, and a process started this way gets exactly those, never more,
 * whatever the process that starts it was allowed.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The deno.json whose tasks state each task's permissions. */
const DENO_CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/**
 * The command line of `deno task TASK ARGS`, run by the Deno binary in use. A task that may start
 * only the programs it lists runs it through `sh` (which the tasks list).
 *
 * @example
 * ```ts
 * import { denoTaskCommand } from "./deno_task.ts";
 * const command = denoTaskCommand("matrix", ["--arch", "x86_64"]);
 * console.log(command.slice(1, 3), command.slice(-3)); // [ "task", "--quiet" ] [ "matrix", "--arch", "x86_64" ]
 * ```
 */
export function denoTaskCommand(task: string, args: readonly string[]): string[] {
  return [Deno.execPath(), "task", "--quiet", "--config", DENO_CONFIG, task, ...args];
}

/**
 * Runs `deno task TASK ARGS` through `sh` with this process's stdin, stdout and stderr, passes
 * SIGINT and SIGTERM on to it, and resolves to its exit status.
 *
 * @example
 * ```ts ignore
 * import { runDenoTask } from "./deno_task.ts";
 * Deno.exit(await runDenoTask("matrix", ["--arch", "x86_64"]));
 * ```
 */
export async function runDenoTask(task: string, args: readonly string[]): Promise<number> {
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$@"', "deno-task", ...denoTaskCommand(task, args)],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const forward = signals.map((signal) => {
    const listener = () => child.kill(signal);
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  try {
    return (await child.status).code;
  } finally {
    for (const remove of forward) remove();
  }
}
