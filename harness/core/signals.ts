/**
 * Signal numbers and names as the guests' kernels number them (x86_64 and arm64 share the
 * generic numbering), and /proc signal masks decoded into names.
 *
 * @module
 */

/** Signal names by number, for those a report may name. */
export const SIGNAL_NAMES: Readonly<Record<number, string>> = {
  1: "SIGHUP",
  2: "SIGINT",
  4: "SIGILL",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  15: "SIGTERM",
  10: "SIGUSR1",
  12: "SIGUSR2",
  14: "SIGALRM",
  17: "SIGCHLD",
  18: "SIGCONT",
  19: "SIGSTOP",
  20: "SIGTSTP",
  21: "SIGTTIN",
  22: "SIGTTOU",
};

/**
 * The signals in a /proc signal mask (hex, bit n-1 = signal n), e.g. `0000000000080000` →
 * `SIGTSTP`; numbers for signals without a name here.
 *
 * @example
 * ```ts
 * import { signalMaskNames } from "./signals.ts";
 * console.log(signalMaskNames("0000000000080000")); // "SIGTSTP"
 * console.log(signalMaskNames("0000000000000000")); // "none"
 * ```
 */
export function signalMaskNames(mask: string): string {
  if (!/^[0-9a-f]{1,16}$/i.test(mask)) return mask;
  const bits = BigInt(`0x${mask}`);
  const names = [];
  for (let signal = 1; signal <= 64; signal++) {
    if ((bits >> BigInt(signal - 1)) & 1n) {
      names.push(SIGNAL_NAMES[signal] ?? `SIG${signal}`);
    }
  }
  return names.length ? names.join(",") : "none";
}
