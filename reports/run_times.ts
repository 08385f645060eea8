/**
 * When a run started and finished, as a report shows it.
 *
 * @module
 */

import type { ResultsFile } from "../harness/core/types.ts";
import { formatDuration } from "./terminal.ts";

/**
 * The start and the end of a run as a reader wants them: UTC times, and how long it took or
 * that it has not finished.
 *
 * @example
 * ```ts
 * import { describeRunTimes } from "./run_times.ts";
 * describeRunTimes({
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: "2026-11-27T17:12:03.000Z",
 * }); // { started: "2026-11-27 16:45:00 UTC", finished: "2026-11-27 17:12:03 UTC (took 27:03)" }
 * ```
 */
export function describeRunTimes(
  results: Pick<ResultsFile, "startedAt" | "finishedAt">,
): { started: string; finished: string } {
  const finished = results.finishedAt === null
    ? "not finished (still running, or interrupted)"
    : `${formatTime(results.finishedAt)} (took ${
      formatDuration((Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000)
    })`;
  return { started: formatTime(results.startedAt), finished };
}

/** `2026-11-27 16:45:00 UTC` */
function formatTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
