import { withoutControls } from "../../reports/plain_text.ts";

/**
 * One line to stderr, prefixed with the program's name: progress and what went wrong. Control
 * characters are removed: a line can quote a results file or a guest, which must not drive the
 * terminal.
 */
export const log = (line: string): void => console.error(`criu-matrix: ${withoutControls(line)}`);
