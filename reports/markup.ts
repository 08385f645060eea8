/**
 * Text from a run (guest output included) made safe inside XML and HTML.
 *
 * @module
 */

import { withoutControls } from "./plain_text.ts";

/** Code points XML 1.0 does not allow anywhere, even escaped: controls, lone surrogates, U+FFFE/F. */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

const ENTITY: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text as XML or HTML character data, safe both between tags and inside a quoted attribute:
 * markup characters become entities; control characters (see `withoutControls`) and
 * characters XML 1.0 forbids are dropped.
 *
 * @example
 * ```ts
 * import { escapeMarkup } from "./markup.ts";
 * escapeMarkup('<script>alert("x")</script>\x1b[0m'); // "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;[0m"
 * ```
 */
export function escapeMarkup(text: string): string {
  return withoutControls(text).replace(NOT_XML_CHAR, "").replace(
    /[&<>"']/g,
    (char) => ENTITY[char],
  );
}
