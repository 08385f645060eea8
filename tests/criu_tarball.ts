/**
 * The CRIU source the host tests build: Debian's copy of an upstream release tarball,
 * downloaded once into the shared cache and unpacked there. Only tests use it; the harness
 * itself never downloads CRIU source (a user brings a tree with `--criu DIR`).
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { isCriuTree } from "../harness/builds/criu.ts";
import { runCommand } from "../harness/host/exec.ts";
import { cachedBuildDir, exists } from "../vm/build_cache.ts";

/**
 * Downloads (once) Debian's copy of the upstream CRIU tarball of `version` into
 * `${cacheDir}/sources/` and unpacks it there; returns the tree. Debian serves the versions its
 * suites ship (e.g. 4.1.1, 4.2.1).
 *
 * @example
 * ```ts ignore
 * import { fetchDebianCriuSource } from "./criu_tarball.ts";
 * const tree = await fetchDebianCriuSource("4.1.1", "/root/.cache/criu-matrix");
 * ```
 */
export async function fetchDebianCriuSource(version: string, cacheDir: string): Promise<string> {
  if (!/^\d+(\.\d+)*$/.test(version)) throw new Error(`bad CRIU version: ${version}`);
  const sources = join(resolve(cacheDir), "sources");
  const tarball = join(sources, `criu_${version}.orig.tar.xz`);
  const url = `http://deb.debian.org/debian/pool/main/c/criu/${basename(tarball)}`;
  await Deno.mkdir(sources, { recursive: true });
  if (!(await exists(tarball))) {
    const response = await fetch(url);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`cannot download ${url}: HTTP ${response.status}`);
    }
    const partial = `${tarball}.partial`;
    await Deno.writeFile(partial, response.body!);
    await Deno.rename(partial, tarball);
  }
  return await cachedBuildDir(sources, `criu-${version}`, async (tmp) => {
    await runCommand(["tar", "-C", tmp, "--strip-components=1", "-xf", tarball]);
  }, isCriuTree);
}
