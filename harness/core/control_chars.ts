/**
 * Control characters in text that came from outside (files, guests, options): what acts on a
 * terminal or a document instead of showing (ESC, BEL, NUL, DEL, C1, bidirectional overrides).
 *
 * @module
 */

/** C0 controls but tab and newline, DEL, C1 controls, bidirectional embeddings and isolates. */
// deno-lint-ignore no-control-regex -- these are exactly what is matched
export const CONTROL_CHARS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** {@link CONTROL_CHARS} and also tab and newline. */
const ANY_CONTROL = new RegExp(`[\\t\\n]|${CONTROL_CHARS.source}`, "g");

/**
 * `text` on one line with every control character (newline and tab too) written as a `\uXXXX`
 * escape: an error message quoting a hostile value stays one readable line.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./control_chars.ts";
 * escapeControls('unknown value "a\nb\x1b[2J"'); // 'unknown value "a\\u000ab\\u001b[2J"'
 * ```
 */
export function escapeControls(text: string): string {
  return text.replace(
    ANY_CONTROL,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
