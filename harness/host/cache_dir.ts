/**
 * Where criu-matrix keeps what it builds and downloads, shared by every run and process.
 *
 * @module
 */
import { join } from "node:path";

/**
 * The cache directory: `$CRIU_MATRIX_CACHE`, else `$XDG_CACHE_HOME/criu-matrix`, else
 * `~/.cache/criu-matrix`.
 *
 * @example
 * ```ts
 * import { defaultCacheDir } from "./cache_dir.ts";
 * console.log(defaultCacheDir().endsWith("criu-matrix"));
 * ```
 */
export function defaultCacheDir(): string {
  const explicit = Deno.env.get("CRIU_MATRIX_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "criu-matrix");
  return join(Deno.env.get("HOME") ?? "/tmp", ".cache", "criu-matrix");
}
