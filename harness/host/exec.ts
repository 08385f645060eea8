/**
 * Running host programs: one place that turns a failed command into an error a user can act on.
 *
 * @module
 */
import { InfraError } from "../core/errors.ts";

/** What a finished command left behind. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** A host command that failed; the message carries the command line and the end of its stderr. */
export class CommandError extends InfraError {
  constructor(readonly command: string[], readonly output: CommandOutput) {
    const tail = (output.stderr || output.stdout).trim().split("\n").slice(-15).join("\n");
    super(`command failed (exit ${output.code}): ${command.join(" ")}\n${tail}`);
  }
}

/**
 * Runs `command` to completion and returns its output; throws {@link CommandError} on a
 * non-zero exit unless `allowFailure` is set.
 *
 * @example
 * ```ts
 * import { runCommand } from "./exec.ts";
 * const { stdout } = await runCommand(["sh", "-c", "echo checkpoint"]);
 * stdout; // "checkpoint\n"
 * ```
 */
export async function runCommand(
  command: string[],
  options: { cwd?: string; allowFailure?: boolean; env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  const [program, ...args] = command;
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  let result: Deno.CommandOutput;
  try {
    result = await child.output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new InfraError(`program not found: ${program} (needed for: ${command.join(" ")})`);
    }
    throw error;
  }
  const output = {
    code: result.code,
    stdout: new TextDecoder().decode(result.stdout),
    stderr: new TextDecoder().decode(result.stderr),
  };
  if (output.code !== 0 && !options.allowFailure) throw new CommandError(command, output);
  return output;
}
