/**
 * The one way criu-matrix caches what it builds (images, CRIU builds, zdtm tests, sources): a
 * directory built in a temporary sibling and renamed into place whole, so a half-built entry is
 * never seen and concurrent builders never corrupt each other.
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
 * Returns `${root}/${name}`, building it first unless `isValid` accepts what is there: `build`
 * fills a temporary sibling directory, which is then renamed into place. An invalid entry in the
 * way is replaced; an entry another builder finished first (even between our check and our
 * rename) is adopted and ours dropped.
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
  await Deno.mkdir(root, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: root, prefix: `.building-${name}-` });
  try {
    await build(tmp);
    await Deno.chmod(tmp, 0o755);
    const adoptTheirs = async () => {
      if (!(await isValid(dir))) return false;
      await Deno.remove(tmp, { recursive: true });
      return true;
    };
    if (await exists(dir)) {
      if (await adoptTheirs()) return dir;
      await Deno.remove(dir, { recursive: true });
    }
    try {
      await Deno.rename(tmp, dir);
    } catch (error) {
      if (!(await adoptTheirs())) throw error;
    }
    return dir;
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  }
}
