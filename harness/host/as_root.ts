/**
 * Running the few commands that need root (installing host packages): directly as root, through
 * passwordless sudo for a user who has it (as on hosted CI runners), or not at all, with the exact
 * commands to run printed instead.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import { runCommand } from "./exec.ts";

/** apt must never ask: no terminal may be there to answer. */
const NONINTERACTIVE = { DEBIAN_FRONTEND: "noninteractive" };

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

/**
 * Runs `commands` in turn as root (see {@link rootPrefix}), logging `doing` first and saying when
 * it goes through sudo; when this process cannot become root, throws an {@link InputError}:
 * `refused`, then each command as the user should type it.
 *
 * @example
 * ```ts ignore
 * import { runAsRoot } from "./as_root.ts";
 * await runAsRoot([["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "cpio"]], {
 *   doing: "installing missing host packages: cpio",
 *   refused: "missing host packages: cpio. Install them as root, then run again",
 * }, console.log);
 * ```
 */
export async function runAsRoot(
  commands: readonly (readonly string[])[],
  { doing, refused }: { doing: string; refused: string },
  log: (line: string) => void,
): Promise<void> {
  const prefix = await rootPrefix();
  if (prefix === null) {
    throw new InputError(
      `${refused}:\n${commands.map((command) => `  sudo ${command.join(" ")}`).join("\n")}`,
    );
  }
  log(prefix.length === 0 ? doing : `${doing} (as root through passwordless sudo)`);
  // sudo resets the environment: `env` (started by sudo, not by this process) sets it again.
  const environment = Object.entries(NONINTERACTIVE).map(([name, value]) => `${name}=${value}`);
  for (const command of commands) {
    await runCommand(
      prefix.length === 0 ? [...command] : [...prefix, "env", ...environment, ...command],
      { env: NONINTERACTIVE },
    );
  }
}
