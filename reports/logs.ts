/**
 * The per-cell logs of a run (CRIU dump and restore, console, agent) as reports quote them:
 * read by their path relative to the results directory, cut to their last lines.
 *
 * @module
 */

import { confineRelativePath, regularFileInside } from "../harness/core/confined_path.ts";
import type { CellResult } from "../harness/core/types.ts";

/**
 * Reads a log by its path relative to the results directory (as `cell.logs` names it);
 * null when it cannot be read. A reader may return only the end of a long log.
 */
export type LogReader = (path: string) => string | null;

/** How much of the end of a log {@link logReaderFor} reads by default: 1 MiB. */
const DEFAULT_MAX_BYTES = 1 << 20;

/**
 * A {@link LogReader} for the logs under the results directory `dir`. It reads at most the
 * last `maxBytes` of each log, and refuses (null, as for a missing log) paths that leave `dir`
 * and anything but a regular file: a symbolic link, a FIFO (it would block), a device.
 *
 * @example
 * ```ts
 * import { logReaderFor } from "./logs.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/dump.log`, "one\ntwo\n");
 * const readLog = logReaderFor(dir);
 * readLog("dump.log"); // "one\ntwo\n"
 * readLog("../etc/passwd"); // null
 * ```
 */
export function logReaderFor(dir: string, maxBytes: number = DEFAULT_MAX_BYTES): LogReader {
  return (path) => {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(regularFileInside(dir, path));
    } catch {
      return null;
    }
    try {
      const size = file.statSync().size;
      const start = Math.max(0, size - maxBytes);
      file.seekSync(start, Deno.SeekMode.Start);
      const bytes = new Uint8Array(size - start);
      let read = 0;
      while (read < bytes.length) {
        const count = file.readSync(bytes.subarray(read));
        if (count === null) break;
        read += count;
      }
      const text = new TextDecoder().decode(bytes.subarray(0, read));
      // A log cut in the middle starts with a partial line: drop it.
      return start === 0 ? text : text.slice(text.indexOf("\n") + 1);
    } catch {
      return null;
    } finally {
      file.close();
    }
  };
}

/**
 * The last `maxLines` lines of a log, each cut to `maxLineLength` characters, and how many
 * earlier lines were left out. A final newline does not count as an empty line.
 *
 * @example
 * ```ts
 * import { tailLines } from "./logs.ts";
 * tailLines("a\nb\nc\n", 2); // { lines: ["b", "c"], omitted: 1 }
 * ```
 */
export function tailLines(
  text: string,
  maxLines: number,
  maxLineLength = 2000,
): { lines: string[]; omitted: number } {
  const all = text.replace(/\r?\n$/, "").split(/\r?\n/);
  if (text === "") all.length = 0;
  const kept = all.slice(Math.max(0, all.length - maxLines));
  return {
    lines: kept.map((line) =>
      line.length > maxLineLength ? `${line.slice(0, maxLineLength)} [line cut]` : line
    ),
    omitted: all.length - kept.length,
  };
}

/** A log of a cell as the reports list it: its kind, its path, and a link only when safe. */
export interface LogLink {
  kind: string;
  path: string;
  /** The URL-encoded relative path; null when the path is not one inside the run directory. */
  href: string | null;
}

/**
 * The logs a cell names, with links only for relative paths inside the run directory: a report
 * must never link to `javascript:`, `data:`, another host, an absolute path or out of the run.
 *
 * @example
 * ```ts
 * import { logLinks } from "./logs.ts";
 * logLinks({ logs: { dump: "cells/a b.log", restore: null, console: "../x", agent: null } });
 * // [{ kind: "dump", path: "cells/a b.log", href: "cells/a%20b.log" },
 * //  { kind: "console", path: "../x", href: null }]
 * ```
 */
export function logLinks(cell: Pick<CellResult, "logs">): LogLink[] {
  return Object.entries(cell.logs).flatMap(([kind, path]) =>
    path === null ? [] : [{
      kind,
      path,
      href: confineRelativePath(path) === path ? encodePath(path) : null,
    }]
  );
}

/** Each segment percent-encoded, parentheses and quotes too: safe in a Markdown link and HTML. */
function encodePath(path: string): string {
  return path.split("/").map((segment) =>
    encodeURIComponent(segment).replace(
      /[()!*']/g,
      (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
    )
  ).join("/");
}
