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
 * One way to build a CRIU: a Debian suite's toolchain (the host's for bookworm, an era root's
 * for older suites) and what make is given besides CRIU's own recipe.
 */
export interface BuildEra {
  /** How cells and build logs name it, e.g. `bullseye-lenient`. */
  name: string;
  /** The suite whose toolchain builds it; the CRIU then runs in a guest of that suite. */
  suite: DebianSuite;
  /** Extra make variables (`WERROR=0`). */
  makeVars: readonly string[];
  /** Extra compiler options, appended to CC so that every compile and link gets them. */
  ccOptions: readonly string[];
}

/**
 * The ways a CRIU is built, tried in this order (newest suite first, CRIU's own recipe before a
 * lenient one) until one builds. The lenient one is what CRIU releases before 3.15 need with
 * gcc 10: its new warnings stop a `-Werror` build (`WERROR=0` is CRIU's own switch), and its
 * `-fno-common` default turns the tentative definitions those releases share between files
 * into `multiple definition` link errors (`-fcommon` is gcc 9's behaviour).
 *
 * @example
 * ```ts
 * import { BUILD_ERAS } from "./build_root.ts";
 * BUILD_ERAS.map((era) => era.name); // ["bookworm", "bullseye", "bullseye-lenient"]
 * ```
 */
export const BUILD_ERAS: readonly BuildEra[] = [
  { name: "bookworm", suite: "bookworm", makeVars: [], ccOptions: [] },
  { name: "bullseye", suite: "bullseye", makeVars: [], ccOptions: [] },
  { name: "bullseye-lenient", suite: "bullseye", makeVars: ["WERROR=0"], ccOptions: ["-fcommon"] },
];

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
