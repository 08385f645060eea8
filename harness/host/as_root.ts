/**
 * How this process may run a command as root: directly as root, through passwordless sudo for a
 * user who has it (as on hosted CI runners), or not at all.
 *
 * @module
 */
import { runCommand } from "./exec.ts";

/**
 * The prefix that runs a command as root from this process: none as root, `sudo -n` when this
 * user may sudo without a password, null when neither.
 *
 * @example
 * ```ts ignore
 * import { rootPrefix } from "./as_root.ts";
 * console.log(await rootPrefix()); // [] as root, ["sudo", "-n"] for a runner's user, else null
 * ```
 */
export async function rootPrefix(): Promise<string[] | null> {
  if (Deno.uid() === 0) return [];
  try {
    const sudo = await runCommand(["sudo", "-n", "true"], { allowFailure: true });
    return sudo.code === 0 ? ["sudo", "-n"] : null;
  } catch {
    // No sudo on this machine (or not one this process may start).
    return null;
  }
}
