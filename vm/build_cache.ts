/**
 * The one way criu-matrix caches what it builds (images, CRIU builds, zdtm tests, sources): a
 * directory built under a per-entry lock in a temporary sibling and renamed into place whole, so a
 * half-built entry is never seen and concurrent builders neither collide nor build twice.
 *
 * @module
 */
import { join } from "node:path";

/**
 * Whether `path` exists (a symbolic link counts, even a dangling one).
 *
 * @example
 * ```ts
 * import { exists } from "./build_cache.ts";
 * console.log(await exists("/")); // true
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * Returns `${root}/${name}`, building it first unless `isValid` accepts what is there. Builders of
 * one entry take turns under a lock (`${root}/.locks/${name}`, released by the kernel even when a
 * builder is killed), so the second finds the first's result instead of building it again. `build`
 * fills a temporary sibling directory, renamed into place whole: readers never see half an entry,
 * and an invalid entry in the way is replaced.
 *
 * @example
 * ```ts
 * import { cachedBuildDir } from "./build_cache.ts";
 * const root = await Deno.makeTempDir();
 * const dir = await cachedBuildDir(root, "thing", async (tmp) => {
 *   await Deno.writeTextFile(`${tmp}/thing`, "built");
 * });
 * console.log(await Deno.readTextFile(`${dir}/thing`)); // "built"
 * ```
 */
export async function cachedBuildDir(
  root: string,
  name: string,
  build: (tmp: string) => Promise<void>,
  isValid: (dir: string) => Promise<boolean> = exists,
): Promise<string> {
  const dir = join(root, name);
  if (await isValid(dir)) return dir;
  await Deno.mkdir(join(root, ".locks"), { recursive: true });
  using lock = await Deno.open(join(root, ".locks", name), { write: true, create: true });
  await lock.lock(true);
  if (await isValid(dir)) return dir;
  const tmp = await Deno.makeTempDir({ dir: root, prefix: `.building-${name}-` });
  try {
    await build(tmp);
    await Deno.chmod(tmp, 0o755);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, dir);
    return dir;
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  }
}
