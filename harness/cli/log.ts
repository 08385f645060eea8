/** One line to stderr, prefixed with the program's name: progress and what went wrong. */
export const log = (line: string): void => console.error(`criu-matrix: ${line}`);
