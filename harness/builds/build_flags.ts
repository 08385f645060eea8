/**
 * Distribution build flags: `--build-flags debian-SUITE` builds CRIU with the flags Debian's
 * package of that suite gets, as that suite's `dpkg-buildflags` prints them for the target arch
 * (hardening; on arm64 since trixie also branch protection). The suite's dpkg, dpkg-dev and
 * libdpkg-perl are downloaded with apt and unpacked, never installed; the flags are cached in
 * `CACHE/build-flags/`. They reach CRIU's make through the environment, as in a Debian build,
 * so that CRIU's own flags are added to them, not replaced.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { cachedBuildDir } from "../../vm/build_cache.ts";
import { AptIndexes, downloadExactly, unpackDebs } from "../../vm/debian_apt.ts";
import { DEBIAN_MIRROR } from "../../vm/recipes.ts";
import { DEBIAN_ARCH } from "../core/catalog.ts";
import { InputError } from "../core/errors.ts";
import type { Arch } from "../core/types.ts";
import { runCommand } from "../host/exec.ts";

/** The suites whose flags `--build-flags debian-SUITE` takes. */
export const BUILD_FLAG_SUITES = ["bullseye", "bookworm", "trixie", "forky", "sid"] as const;

/** What `--build-flags` accepts: CRIU's own flags, or a Debian suite's. */
export const BUILD_FLAG_CHOICES: readonly string[] = [
  "criu",
  ...BUILD_FLAG_SUITES.map((suite) => `debian-${suite}`),
];

/** The variables a build gets, as `dpkg-buildflags --get NAME` prints them. */
export interface BuildFlags {
  /** The `--build-flags` value, e.g. `debian-trixie`. */
  name: string;
  CFLAGS: string;
  CPPFLAGS: string;
  LDFLAGS: string;
}

const VARIABLES = ["CFLAGS", "CPPFLAGS", "LDFLAGS"] as const;

/**
 * Checks a `--build-flags` value; returns it, or throws a {@link InputError} naming the accepted.
 *
 * @example
 * ```ts
 * import { parseBuildFlagsChoice } from "./build_flags.ts";
 * parseBuildFlagsChoice("debian-trixie"); // "debian-trixie"
 * ```
 */
export function parseBuildFlagsChoice(value: string): string {
  if (BUILD_FLAG_CHOICES.includes(value)) return value;
  throw new InputError(
    `--build-flags: unknown value "${value}"; accepted: ${BUILD_FLAG_CHOICES.join(", ")}`,
  );
}

/**
 * Drops `-ffile-prefix-map=DIR=.`: it names the directory dpkg-buildflags ran in and only makes
 * debug paths reproducible, so it would tie the flags (and the cache key) to one directory.
 *
 * @example
 * ```ts
 * import { withoutPrefixMap } from "./build_flags.ts";
 * withoutPrefixMap("-g -O2 -ffile-prefix-map=/tmp/x=. -Wformat"); // "-g -O2 -Wformat"
 * ```
 */
export function withoutPrefixMap(flags: string): string {
  return flags.split(/\s+/).filter((flag) => flag && !flag.startsWith("-ffile-prefix-map="))
    .join(" ");
}

/**
 * The flags of `choice` (`debian-SUITE`) for `arch`, from that suite's own dpkg-buildflags;
 * null for `criu` (CRIU's own flags).
 *
 * @example
 * ```ts ignore
 * import { debianBuildFlags } from "./build_flags.ts";
 * const flags = await debianBuildFlags("debian-trixie", "aarch64", cache);
 * flags?.CFLAGS.includes("-mbranch-protection=standard"); // true
 * ```
 */
export async function debianBuildFlags(
  choice: string,
  arch: Arch,
  cacheDir: string,
): Promise<BuildFlags | null> {
  if (choice === "criu") return null;
  const suite = choice.replace(/^debian-/, "");
  const dir = await cachedBuildDir(
    join(resolve(cacheDir), "build-flags"),
    `${choice}-${arch}`,
    async (tmp) => {
      const indexes = await AptIndexes.create(tmp);
      try {
        const state = await indexes.open([`deb ${DEBIAN_MIRROR} ${suite} main`], "x86_64");
        const debs = join(tmp, "debs");
        await downloadExactly(state, ["dpkg", "dpkg-dev", "libdpkg-perl"], debs);
        const unpacked = join(tmp, "dpkg");
        await Deno.mkdir(unpacked);
        await unpackDebs(debs, unpacked);
        const flags: Record<string, string> = { name: choice };
        for (const variable of VARIABLES) {
          const { stdout } = await runCommand(
            ["perl", join(unpacked, "usr/bin/dpkg-buildflags"), "--get", variable],
            {
              env: {
                PERL5LIB: join(unpacked, "usr/share/perl5"),
                DPKG_DATADIR: join(unpacked, "usr/share/dpkg"),
                DEB_BUILD_ARCH: DEBIAN_ARCH.x86_64,
                DEB_HOST_ARCH: DEBIAN_ARCH[arch],
                // Only what the suite's defaults say: no DEB_*_MAINT_* or DEB_BUILD_OPTIONS.
                DEB_BUILD_OPTIONS: "",
                DEB_BUILD_MAINT_OPTIONS: "",
              },
            },
          );
          flags[variable] = withoutPrefixMap(stdout.trim());
        }
        await Deno.remove(debs, { recursive: true });
        await Deno.remove(unpacked, { recursive: true });
        await Deno.writeTextFile(join(tmp, "flags.json"), JSON.stringify(flags, null, 2));
      } finally {
        await indexes.close();
      }
    },
  );
  return JSON.parse(await Deno.readTextFile(join(dir, "flags.json"))) as BuildFlags;
}
