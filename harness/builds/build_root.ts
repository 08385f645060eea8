/**
 * Era build roots: a CRIU release that does not build with the host's (bookworm's) toolchain
 * builds in an older Debian root made with apt (`mmdebstrap --variant=buildd`), with the same
 * build dependencies, native for x86_64 and with that suite's cross toolchain and arm64
 * multiarch libraries for aarch64. A root is made once per suite and arch and cached in
 * `CACHE/build-roots/`; it is entered as an unprivileged user namespace (`unshare
 * --map-root-user --root`), so neither root nor Docker is needed to build in it.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { cachedBuildDir } from "../../vm/build_cache.ts";
import { sha256Hex } from "../host/sha256.ts";
import { DEBIAN_MIRROR } from "../../vm/recipes.ts";
import type { DebianSuite } from "../core/types.ts";
import { runCommand } from "../host/exec.ts";

/**
 * Where a CRIU can be built, tried in this order (newest first): the host itself (bookworm),
 * then older Debian roots. The guest of a CRIU runs the suite it was built in.
 *
 * @example
 * ```ts
 * import { BUILD_SUITES } from "./build_root.ts";
 * BUILD_SUITES[0]; // "bookworm"
 * ```
 */
export const BUILD_SUITES: readonly DebianSuite[] = ["bookworm", "bullseye"];

/** The suite the host builds for without a root of its own. */
export const HOST_BUILD_SUITE: DebianSuite = "bookworm";

/**
 * A root of `suite` (amd64, with arm64 as a foreign architecture) holding `packages` (apt names,
 * `:arm64` for cross libraries), made once and cached; returns its directory. One root serves
 * the builds of both arches.
 *
 * @example
 * ```ts ignore
 * import { ensureBuildRoot } from "./build_root.ts";
 * const root = await ensureBuildRoot("bullseye", ["make", "gcc", "ccache"], cache, console.log);
 * ```
 */
export async function ensureBuildRoot(
  suite: DebianSuite,
  packages: readonly string[],
  cacheDir: string,
  log: (line: string) => void,
): Promise<string> {
  const include = [...new Set(packages)].sort();
  const key = sha256Hex(JSON.stringify({ suite, include })).slice(0, 12);
  const parent = join(resolve(cacheDir), "build-roots");
  const dir = await cachedBuildDir(parent, `${suite}-${key}`, async (tmp) => {
    log(`making a ${suite} build root for CRIU builds (mmdebstrap, once)`);
    const started = performance.now();
    await runCommand([
      "mmdebstrap",
      "--quiet",
      "--variant=buildd",
      ...(Deno.uid() === 0 ? [] : ["--mode=unshare"]),
      "--architectures=amd64,arm64",
      `--include=${include.join(",")}`,
      suite,
      join(tmp, "root"),
      `deb ${DEBIAN_MIRROR} ${suite} main`,
    ]);
    log(`made the ${suite} build root in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });
  return join(dir, "root");
}

/**
 * The command prefix that runs a program inside `root`, as root of a user namespace of its own
 * (no privileges needed).
 *
 * @example
 * ```ts
 * import { inRoot } from "./build_root.ts";
 * inRoot("/r"); // ["unshare", "--map-root-user", "--root=/r"]
 * ```
 */
export function inRoot(root: string): string[] {
  return ["unshare", "--map-root-user", `--root=${root}`];
}
