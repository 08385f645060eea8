/**
 * Builds the in-guest C fixtures (`fixtures/*.c`) as static binaries for one arch, cached by
 * content: `${cacheDir}/fixtures/<arch>-<hash>/`, where the hash covers the sources, the headers
 * they share (`fixtures/*.h`) and the compiler command lines. A build goes to a temporary
 * directory first and is renamed into place, so a half build is never reused.
 *
 * @example
 * ```ts
 * import { buildFixtures } from "./fixtures.ts";
 * import { defaultCacheDir } from "../../vm/image.ts";
 * const set = await buildFixtures("aarch64", defaultCacheDir());
 * console.log(set.programs.stopfix); // ~/.cache/criu-matrix/fixtures/aarch64-1a2b.../stopfix
 * ```
 *
 * @module
 */
import { cachedBuildDir } from "../../vm/build_cache.ts";
import { sha256Hex } from "../host/sha256.ts";
import { InfraError } from "../core/errors.ts";

/**
 * The fixture programs, one per `fixtures/NAME.c`.
 *
 * @example
 * ```ts
 * import { FIXTURE_PROGRAMS } from "./fixtures.ts";
 * for (const name of FIXTURE_PROGRAMS) console.log(name); // stopfix, stopprobe, ptyjob, nsinit, stoptracer, procview
 * ```
 */
export const FIXTURE_PROGRAMS = [
  "stopfix",
  "stopprobe",
  "ptyjob",
  "nsinit",
  "stoptracer",
  "procview",
] as const;

/**
 * One fixture program's name.
 *
 * @example
 * ```ts
 * import type { FixtureProgram } from "./fixtures.ts";
 * const name: FixtureProgram = "stopprobe";
 * ```
 */
export type FixtureProgram = typeof FIXTURE_PROGRAMS[number];

/**
 * The built fixtures of one arch.
 *
 * @example
 * ```ts
 * import { buildFixtures, type FixtureSet } from "./fixtures.ts";
 * import { defaultCacheDir } from "../../vm/image.ts";
 * const set: FixtureSet = await buildFixtures("x86_64", defaultCacheDir());
 * console.log(set.programs.ptyjob.endsWith("/ptyjob")); // true
 * ```
 */
export interface FixtureSet {
  arch: "x86_64" | "aarch64";
  /** The absolute directory holding the binaries. */
  dir: string;
  /** Absolute paths of the static binaries. */
  programs: Record<FixtureProgram, string>;
}

/**
 * The C compiler used for each arch.
 *
 * @example
 * ```ts
 * import { COMPILERS } from "./fixtures.ts";
 * COMPILERS.aarch64; // "aarch64-linux-gnu-gcc"
 * ```
 */
export const COMPILERS: Record<FixtureSet["arch"], string> = {
  x86_64: "gcc",
  aarch64: "aarch64-linux-gnu-gcc",
};

/**
 * The compiler flags of each arch. On aarch64 the fixtures sign their return addresses and mark
 * branch targets (`-mbranch-protection=standard`, as Debian builds since trixie): the
 * instructions are no-ops on CPUs without pointer authentication (neoverse-n1), and on one with it
 * (`max,pauth-impdef=on`) a CRIU that does not restore the task's PAC keys makes the restored
 * fixture fail its first authenticated return.
 */
const CFLAGS_BY_ARCH: Record<FixtureSet["arch"], readonly string[]> = {
  x86_64: ["-static", "-O2", "-Wall", "-Wextra", "-pthread"],
  aarch64: ["-static", "-O2", "-Wall", "-Wextra", "-pthread", "-mbranch-protection=standard"],
};
const SOURCE_DIR = new URL("../../fixtures/", import.meta.url);

/** The headers in `dir` (`*.h`), as [name, text], sorted by name. */
async function readHeaders(dir: string): Promise<[string, string][]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".h")) names.push(entry.name);
  }
  names.sort();
  return await Promise.all(
    names.map(async (name): Promise<[string, string]> => [
      name,
      await Deno.readTextFile(`${dir}/${name}`),
    ]),
  );
}

function programsIn(dir: string): Record<FixtureProgram, string> {
  return Object.fromEntries(FIXTURE_PROGRAMS.map((p) => [p, `${dir}/${p}`])) as Record<
    FixtureProgram,
    string
  >;
}

/**
 * Compiles the fixtures for `arch` (or reuses the cached build) and returns their paths.
 * Throws an InfraError with the compiler's stderr and the command to reproduce when a compile
 * fails.
 *
 * @example
 * ```ts
 * import { buildFixtures } from "./fixtures.ts";
 * import { defaultCacheDir } from "../../vm/image.ts";
 * const { programs } = await buildFixtures("x86_64", defaultCacheDir());
 * // A bad command line is refused with a usage message (exit 2): the fixture is there and runs.
 * const { code } = await new Deno.Command(programs.stopfix, { args: ["--bogus"] }).output();
 * code; // 2
 * ```
 */
export async function buildFixtures(
  arch: "x86_64" | "aarch64",
  cacheDir: string,
): Promise<FixtureSet> {
  const cc = COMPILERS[arch];
  const cflags = CFLAGS_BY_ARCH[arch];
  const sourceDir = await Deno.realPath(SOURCE_DIR);
  const sources = await Promise.all(
    FIXTURE_PROGRAMS.map((p) => Deno.readTextFile(`${sourceDir}/${p}.c`)),
  );
  // The command lines hashed name files relatively, so the hash does not depend on where the
  // repository or the cache lives. The headers the sources include (fixtures/*.h) count too.
  const headers = await readHeaders(sourceDir);
  const hashed = [
    ...FIXTURE_PROGRAMS.map((p, i) =>
      `${[cc, ...cflags, "-o", p, `${p}.c`].join(" ")}\n${sources[i]}`
    ),
    ...headers.map(([name, text]) => `${name}\n${text}`),
  ].join("\n\0\n");
  const hash = sha256Hex(hashed).slice(0, 16);

  const root = `${absolute(cacheDir)}/fixtures`;
  const dir = `${root}/${arch}-${hash}`;
  const result: FixtureSet = { arch, dir, programs: programsIn(dir) };
  await cachedBuildDir(root, `${arch}-${hash}`, async (tmp) => {
    // allSettled: let every compiler finish before the temporary directory is removed.
    const built = await Promise.allSettled(FIXTURE_PROGRAMS.map(async (p) => {
      const args = [...cflags, "-o", `${tmp}/${p}`, `${sourceDir}/${p}.c`];
      const out = await new Deno.Command(cc, { args, stdout: "piped", stderr: "piped" }).output();
      if (!out.success) {
        const stderr = new TextDecoder().decode(out.stderr).trim();
        throw new InfraError(
          `compiling fixture ${p} for ${arch} failed (exit ${out.code}):\n${stderr}\n` +
            `reproduce with: ${
              [cc, ...cflags, "-o", `/tmp/${p}`, `${sourceDir}/${p}.c`].join(" ")
            }`,
        );
      }
    }));
    const failed = built.find((b) => b.status === "rejected");
    if (failed) throw failed.reason;
  });
  return result;
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path.replace(/\/+$/, "") || "/";
  return `${Deno.cwd()}/${path}`.replace(/\/+$/, "");
}
