/**
 * The two kinds of failure the command line tells apart by class: bad input (nothing ran, exit
 * 2) and a failure of the harness, host or VM infrastructure (exit 1). A failing CRIU is neither:
 * it is a cell's verdict.
 *
 * @module
 */

/**
 * Bad input: an option, a case or expectations file, a results file or a path the user named.
 * The message is what the user sees, on one line, naming the bad value and what is accepted;
 * the CLI exits with 2.
 *
 * @example
 * ```ts
 * import { InputError } from "./errors.ts";
 * const error = new InputError('--arch: unknown value "sparc"; accepted: x86_64, aarch64');
 * console.log(error instanceof InputError, error.name); // true "InputError"
 * ```
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The harness or its host could not do its part: a host program failed, a file could not be
 * written, a VM could not be started. The CLI exits with 1.
 *
 * @example
 * ```ts
 * import { InfraError } from "./errors.ts";
 * const error = new InfraError("cannot write out/results.json: No space left on device");
 * console.log(error instanceof InfraError, error.name); // true "InfraError"
 * ```
 */
export class InfraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
