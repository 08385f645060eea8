/**
 * The CLI's `main` run in-process with its stderr captured, for the unit tests of commands.
 *
 * @module
 */
import { main } from "../../harness/cli/main.ts";

/** Runs `main(args)` with stderr captured: its exit status and the lines it printed. */
export async function mainQuietly(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...parts: unknown[]) => lines.push(parts.join(" "));
  try {
    return { code: await main(args), lines };
  } finally {
    console.error = original;
  }
}
