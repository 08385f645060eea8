/**
 * One host package install at a time: apt holds its own lock only while it runs and fails (not
 * waits) when another apt has it, so every install criu-matrix does on the host (host tools,
 * CRIU build dependencies) runs under one lock file in the cache, across builds, runs and
 * concurrent criu-matrix processes.
 *
 * @module
 */
import { join } from "node:path";
import { defaultCacheDir } from "./cache_dir.ts";

/**
 * The lock file that serialises host package installs: `CACHE/.locks/host-packages`.
 *
 * @example
 * ```ts
 * import { hostPackageLockFile } from "./package_lock.ts";
 * hostPackageLockFile("/var/cache/cm"); // "/var/cache/cm/.locks/host-packages"
 * ```
 */
export function hostPackageLockFile(cacheDir: string = defaultCacheDir()): string {
  return join(cacheDir, ".locks", "host-packages");
}

/**
 * Runs `install` holding the host package lock (an exclusive `flock`, released when it ends,
 * however it ends, and by the kernel if the process dies). `install` must check again what is
 * missing: another holder may just have installed it.
 *
 * @example
 * ```ts
 * import { withHostPackageLock } from "./package_lock.ts";
 * const cache = await Deno.makeTempDir();
 * console.log(await withHostPackageLock(() => Promise.resolve("installed"), cache)); // "installed"
 * ```
 */
export async function withHostPackageLock<T>(
  install: () => Promise<T>,
  cacheDir: string = defaultCacheDir(),
): Promise<T> {
  const file = hostPackageLockFile(cacheDir);
  await Deno.mkdir(join(cacheDir, ".locks"), { recursive: true });
  using lock = await Deno.open(file, { write: true, create: true });
  await lock.lock(true);
  return await install();
}
