/**
 * git as the bisect runs it: in a given directory, never with the repository's hooks.
 *
 * @module
 */
import { runCommand } from "../host/exec.ts";

/** git's options that switch the repository's hooks off: our checkouts must not run the user's. */
export const NO_HOOKS = ["-c", "core.hooksPath=/dev/null"];

/** git in `dir`, without the repository's hooks. */
export function git(dir: string, args: string[], allowFailure = false) {
  return runCommand(["git", "-C", dir, ...NO_HOOKS, ...args], {
    allowFailure,
  });
}
