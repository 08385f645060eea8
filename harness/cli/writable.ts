/**
 * Where a command may write: output directories resolved through links before any permission
 * applies, never replacing an earlier run, checked writable without being created (a command
 * that then refuses its input leaves nothing behind).
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "../core/errors.ts";

/** Files that mark a directory as holding a run, a merge or a bisection. */
const RUN_MARKERS = ["results.json", "bisect.json"];

/**
 * `path` made absolute with every symbolic link in its existing part resolved: a link in /tmp
 * must not send the output where the permissions were not checked.
 *
 * @example
 * ```ts
 * import { resolveThroughLinks } from "./writable.ts";
 * import { symlink } from "../../vm/image.ts";
 * const dir = Deno.realPathSync(await Deno.makeTempDir());
 * await symlink(dir, `${dir}.link`);
 * (await resolveThroughLinks(`${dir}.link/new/run`)) === `${dir}/new/run`; // true
 * ```
 */
export async function resolveThroughLinks(path: string): Promise<string> {
  let existing = resolve(path);
  const missing: string[] = [];
  while (true) {
    try {
      return join(await Deno.realPath(existing), ...missing);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound) || dirname(existing) === existing) throw error;
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
}

/**
 * Checks an output directory and resolves to its real path, to write to instead of `dir`.
 * Refuses (throws {@link InputError}) a directory that already holds a run unless `resuming`
 * (its results would be replaced), one outside what this process may write, and one whose
 * nearest existing directory cannot be written. Creates nothing.
 *
 * @example
 * ```ts ignore
 * import { prepareOutDir } from "./writable.ts";
 * const outDir = await prepareOutDir("out/run", "--out", { resuming: false });
 * ```
 */
export async function prepareOutDir(
  dir: string,
  what: string,
  { resuming }: { resuming: boolean },
): Promise<string> {
  const real = await resolveThroughLinks(dir).catch((error) => {
    throw new InputError(`${what} ${dir}: cannot resolve it (${(error as Error).message})`);
  });
  const permission = await Deno.permissions.query({ name: "write", path: real });
  if (permission.state !== "granted") {
    throw new InputError(
      `${what} ${dir}${real === resolve(dir) ? "" : ` (really ${real})`}: outside the ` +
        `directories this command may write (the repository, /tmp, ~/.cache/criu-matrix); ` +
        `choose one inside, or run harness/cli/main.ts with --allow-write=${real}`,
    );
  }
  const info = await Deno.stat(real).catch(() => null);
  if (info !== null && !info.isDirectory) {
    throw new InputError(`${what} ${dir}: exists and is not a directory; give a directory`);
  }
  if (!resuming && info !== null) {
    for (const marker of RUN_MARKERS) {
      if (await Deno.lstat(join(real, marker)).then(() => true, () => false)) {
        throw new InputError(
          `${what} ${dir}: already holds a run (${marker}), which this would replace; ` +
            `give a new directory (task matrix continues a run with --resume ${dir})`,
        );
      }
    }
  }
  await ensureWritable(real, what);
  return real;
}

/**
 * Fails early, with what to do, when `dir` (or, if it does not exist yet, the directory it
 * would be made in) cannot be written: outside what this process may write (the `task matrix`
 * permissions), or refused by the file system. Creates nothing.
 */
export async function ensureWritable(dir: string, what: string): Promise<void> {
  const permission = await Deno.permissions.query({ name: "write", path: dir });
  if (permission.state !== "granted") {
    throw new InputError(
      `${what} ${dir}: outside the directories task matrix may write (the repository, /tmp, ` +
        `~/.cache/criu-matrix); choose one inside, or run harness/cli/main.ts with --allow-write=${dir}`,
    );
  }
  let existing = resolve(dir);
  while (!(await Deno.stat(existing).then((info) => info.isDirectory, () => false))) {
    if (dirname(existing) === existing) break;
    existing = dirname(existing);
  }
  try {
    const probe = await Deno.makeTempFile({ dir: existing, prefix: ".write-test-" });
    await Deno.remove(probe);
  } catch (error) {
    throw new InputError(
      `${what} ${dir}: not writable (${(error as Error).message}); choose a directory you can ` +
        `write`,
    );
  }
}

/**
 * Makes the build cache directory (it is this tool's own, made once the input is accepted; on a
 * new machine not even `~/.cache` exists) and checks that it can be written, as
 * {@link ensureWritable} does.
 *
 * @example
 * ```ts
 * import { prepareCacheDir } from "./writable.ts";
 * const dir = `${await Deno.makeTempDir()}/new/cache`;
 * await prepareCacheDir(dir);
 * (await Deno.stat(dir)).isDirectory; // true
 * ```
 */
export async function prepareCacheDir(dir: string): Promise<void> {
  // A directory that cannot be made is named by ensureWritable with what to do.
  await Deno.mkdir(dir, { recursive: true }).catch(() => {});
  await ensureWritable(dir, "the cache directory");
}
