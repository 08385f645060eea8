/**
 * Build fixes: the parts of later upstream CRIU commits that an old release needs only to be
 * built here, applied as data (like a distribution's patches) to the trees that need them and
 * recorded in the build's cache key and in the cell. A fix changes how a release is built, never
 * what it does: each one says which upstream commit it comes from and why.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Arch } from "../core/types.ts";
import { sha256File } from "../host/sha256.ts";

/** One fix: which builds need it (by arch and by a line of the tree) and the patch that is it. */
export interface BuildFix {
  /** How cells and build logs name it; also the patch's file name under `patches/`. */
  name: string;
  /** The upstream commit it is taken from, with its subject. */
  upstream: string;
  /** The arches whose builds need it. */
  arches: readonly Arch[];
  /** A tree needs it while `file` (relative to the tree) still holds `line`. */
  neededWhile: { file: string; line: string };
}

/**
 * The fixes known. `compel-host-without-compel-h`: a cross build also makes `compel-host-bin`
 * with the host's gcc; until v3.14 its sources include `compel.h`, which pulls in the target's
 * `asm/sigframe.h` and the host's x86_64 `<asm/sigcontext.h>`, whose structures glibc 2.26 and
 * later define again (`redefinition of 'struct _fpx_sw_bytes'`). CRIU removed those includes in
 * 327554ee6; the fix is the include lines of it that the host tool needs, and it leaves the
 * aarch64 objects as they were (only `__LINE__` in error messages moves).
 *
 * @example
 * ```ts
 * import { BUILD_FIXES } from "./build_fixes.ts";
 * BUILD_FIXES.map((fix) => fix.name); // ["compel-host-without-compel-h"]
 * ```
 */
export const BUILD_FIXES: readonly BuildFix[] = [
  {
    name: "compel-host-without-compel-h",
    upstream: '327554ee6 "compel: Remove compel.h"',
    arches: ["aarch64"],
    neededWhile: { file: "compel/src/main.c", line: '#include "uapi/compel/compel.h"' },
  },
];

/**
 * The fixes that building `tree` for `arch` needs, with their patches' paths and SHA-256 (for the
 * cache key), in the order of {@link BUILD_FIXES}.
 *
 * @example
 * ```ts
 * import { buildFixesFor } from "./build_fixes.ts";
 * const fixes = await buildFixesFor(Deno.makeTempDirSync(), "aarch64");
 * console.log(fixes); // [] (no compel/src/main.c)
 * ```
 */
export async function buildFixesFor(
  tree: string,
  arch: Arch,
): Promise<{ fix: BuildFix; patch: string; sha256: string }[]> {
  const needed = [];
  for (const fix of BUILD_FIXES) {
    if (!fix.arches.includes(arch)) continue;
    const text = await Deno.readTextFile(join(tree, fix.neededWhile.file)).catch(() => "");
    if (!text.split("\n").some((line) => line.trim() === fix.neededWhile.line)) continue;
    const patch = fileURLToPath(new URL(`./patches/${fix.name}.patch`, import.meta.url));
    needed.push({ fix, patch, sha256: await sha256File(patch) });
  }
  return needed;
}
