/**
 * Paths that come from files, guests or options, held inside the directory they belong to:
 * log paths of a results file stay relative and inside the run, only regular files are read or
 * copied (a symbolic link could point anywhere, a FIFO would block the reader forever), and a
 * file is written by replacing it, never through a link planted in its place.
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, normalize, relative } from "node:path";
import { InputFileError } from "./errors.ts";

/** Longest relative path accepted from a results file: far above any path a run writes. */
const MAX_PATH_LENGTH = 1024;

/**
 * `path` normalised, when it is relative and stays inside its base directory; null for an
 * absolute path, one that climbs out (`..`), names the base itself, or holds a control
 * character, a backslash, a colon or a `%` (a link built from it would mean something else).
 *
 * @example
 * ```ts
 * import { confineRelativePath } from "./confined_path.ts";
 * confineRelativePath("cells/vm/./sigstop/criu-dump.log"); // "cells/vm/sigstop/criu-dump.log"
 * confineRelativePath("cells/../../etc/passwd"); // null
 * confineRelativePath("javascript:alert(1)"); // null
 * ```
 */
export function confineRelativePath(path: string): string | null {
  // deno-lint-ignore no-control-regex -- a path with control characters is never one we wrote
  if (path.length > MAX_PATH_LENGTH || /[\x00-\x1f\x7f-\x9f\\:%?#]/.test(path)) return null;
  if (isAbsolute(path)) return null;
  const normal = normalize(path);
  if (normal === "." || normal === ".." || normal.startsWith("../") || normal.endsWith("/")) {
    return null;
  }
  return normal;
}

/**
 * What a file is, when it is not a regular file, in words for an error; null for a regular one.
 *
 * @example
 * ```ts
 * import { nonRegularKind } from "./confined_path.ts";
 * nonRegularKind(Deno.lstatSync("/dev/null")); // "a device"
 * ```
 */
export function nonRegularKind(info: Deno.FileInfo): string | null {
  if (info.isFile) return null;
  if (info.isSymlink) return "a symbolic link";
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * A path that resolves outside its directory or names something other than a regular file:
 * bad input (exit 2), whoever made the file that named it.
 */
export class ConfinedPathError extends InputFileError {}

/**
 * The absolute path of the regular file `relativePath` names inside `dir`: refused (throws
 * {@link ConfinedPathError}) when the path leaves `dir`, when the file is a symbolic link, a
 * FIFO, a device or a directory, or when a directory on the way is a link out of `dir`.
 * A missing file throws Deno's NotFound as is.
 *
 * @example
 * ```ts
 * import { regularFileInside } from "./confined_path.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/dump.log`, "x");
 * regularFileInside(dir, "dump.log") === `${Deno.realPathSync(dir)}/dump.log`; // true
 * ```
 */
export function regularFileInside(dir: string, relativePath: string): string {
  const confined = confineRelativePath(relativePath);
  if (confined === null) {
    throw new ConfinedPathError(relativePath, "not a relative path inside the run directory");
  }
  const kind = nonRegularKind(Deno.lstatSync(join(dir, confined)));
  if (kind !== null) {
    throw new ConfinedPathError(relativePath, `is ${kind}; only regular files are read`);
  }
  const base = Deno.realPathSync(dir);
  const real = Deno.realPathSync(join(dir, confined));
  const inside = relative(base, real);
  if (inside === "" || inside.startsWith("../") || isAbsolute(inside)) {
    throw new ConfinedPathError(relativePath, `resolves to ${real}, outside ${base}`);
  }
  return real;
}

/**
 * Refuses (throws {@link ConfinedPathError}) a path given where a file is expected that is not a
 * regular file once links are followed: a FIFO, a device or a directory. Reading one would
 * block or read without end. A missing file throws Deno's NotFound as is.
 *
 * @example
 * ```ts
 * import { requireRegularFile } from "./confined_path.ts";
 * await requireRegularFile("/dev/zero").catch((error) => error.message);
 * // "/dev/zero: is a device; give a regular file"
 * ```
 */
export async function requireRegularFile(path: string): Promise<void> {
  const kind = nonRegularKind(await Deno.stat(path));
  if (kind !== null) throw new ConfinedPathError(path, `is ${kind}; give a regular file`);
}

/**
 * Writes `text` to `path` through a new temporary file renamed over it: a symbolic link planted
 * at `path` (a run directory from a CI artifact, say) is replaced, never written through, and
 * a reader never sees half a file. The temporary file is removed if the write fails.
 *
 * @example
 * ```ts
 * import { writeFileReplacing } from "./confined_path.ts";
 * const dir = await Deno.makeTempDir();
 * // A link planted where the report goes (ln(1): Deno.symlink needs unscoped permissions).
 * await new Deno.Command("ln", { args: ["-s", "/etc/hostname", `${dir}/report.md`] }).output();
 * await writeFileReplacing(`${dir}/report.md`, "# report\n");
 * Deno.lstatSync(`${dir}/report.md`).isFile; // true: the link is gone, /etc/hostname untouched
 * ```
 */
export async function writeFileReplacing(path: string, text: string): Promise<void> {
  const temp = await Deno.makeTempFile({ dir: dirname(path), prefix: `.${basename(path)}.` });
  try {
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
