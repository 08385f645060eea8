/**
 * Text from a run (guest output, names from results files) without the characters that act
 * instead of showing: a report or a terminal must never receive escape sequences (ESC can
 * retitle a window or hide lines), BEL, NUL, or bidirectional overrides that reorder text.
 *
 * @module
 */

import { CONTROL_CHARS } from "../harness/core/control_chars.ts";

/**
 * `text` with control characters removed (tab and newline kept; a CR of CRLF goes too).
 *
 * @example
 * ```ts
 * import { withoutControls } from "./plain_text.ts";
 * withoutControls("a\x1b]0;owned\x07b\r\nc\x00"); // "a]0;ownedb\nc"
 * ```
 */
export function withoutControls(text: string): string {
  return text.replace(CONTROL_CHARS, "");
}

/**
 * `text` without control characters, on one line: each line break (and the white space around
 * it) becomes one space.
 *
 * @example
 * ```ts
 * import { singleLine } from "./plain_text.ts";
 * singleLine("dump failed:\n  Error\x1b[0m (x.c:1)\u2028end "); // "dump failed: Error[0m (x.c:1) end"
 * ```
 */
export function singleLine(text: string): string {
  return withoutControls(text).replace(/\s*[\n\u2028\u2029]+\s*/g, " ").trim();
}
