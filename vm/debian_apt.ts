/**
 * Debian packages as files, with apt and without installing anything: private apt states in a
 * scratch directory, each source's package index downloaded once per run and shared by every image
 * built from it, packages downloaded (checked against Debian's archive keyring) and unpacked.
 *
 * Sharing the indexes is what makes a cold start quick: the default matrix builds 14 images from
 * 4 suites on 2 arches, and each suite's index is 10 to 25 MB to fetch and parse.
 *
 * @module
 */
import { join } from "node:path";
import { DEBIAN_ARCH } from "../harness/core/catalog.ts";
import { runCommand } from "../harness/host/exec.ts";
import type { Arch } from "../harness/core/types.ts";
import { InfraError } from "../harness/core/errors.ts";

/** The signing keys of Debian's archive, as the debian-archive-keyring package installs them. */
const ARCHIVE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

/** An apt state of its own: the `-o` options that point apt at it. */
export interface AptState {
  options: string[];
}

/** apt-get/apt-cache options that point every apt path into `dir` and at `arch` only. */
function stateOptions(dir: string, arch: Arch): string[] {
  return [
    `Dir::Etc::SourceList=${join(dir, "sources.list")}`,
    `Dir::Etc::SourceParts=${join(dir, "sources.list.d")}`,
    `Dir::Etc::Preferences=${join(dir, "preferences")}`,
    `Dir::Etc::PreferencesParts=${join(dir, "preferences.d")}`,
    `Dir::State::Lists=${join(dir, "lists")}`,
    `Dir::State::status=${join(dir, "status")}`,
    `Dir::Cache=${join(dir, "cache")}`,
    // The package cache apt builds from the indexes (about a second of CPU each time), written
    // once per state and reused by every later apt call on it, whatever the host's apt.conf
    // says (Debian's Docker images switch it off).
    "Dir::Cache::pkgcache=pkgcache.bin",
    "Dir::Cache::srcpkgcache=",
    `APT::Architecture=${DEBIAN_ARCH[arch]}`,
    `APT::Architectures=${DEBIAN_ARCH[arch]}`,
    "Acquire::Languages=none",
    // The sid archive seen from CI machines has served an expired Release file.
    "Acquire::Check-Valid-Until=false",
    "Debug::NoLocking=true",
    // As root apt would hand downloads to its _apt user, who cannot write into our scratch dir.
    ...(Deno.uid() === 0 ? ["APT::Sandbox::User=root"] : []),
  ];
}

/** Makes an empty apt state in `dir` reading `sources` (apt source lines). */
async function makeState(dir: string, sources: string[]): Promise<void> {
  for (const sub of ["sources.list.d", "preferences.d", "lists/partial", "cache"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  await Deno.writeTextFile(join(dir, "status"), "");
  await Deno.writeTextFile(
    join(dir, "sources.list"),
    sources.map((line) => line.replace(/^deb /, `deb [signed-by=${ARCHIVE_KEYRING}] `))
      .join("\n") + "\n",
  );
}

/** `-o` pairs for apt from `Name=value` options. */
function asArguments(options: string[]): string[] {
  return options.flatMap((option) => ["-o", option]);
}

/**
 * The package indexes of one run: each (source line, arch) is fetched with `apt-get update` once,
 * however many images read it, into a scratch directory removed by {@link AptIndexes.close}.
 * Every image of the same sources and arch shares one apt state, so apt's package cache is built
 * once per state, not once per apt call.
 *
 * @example
 * ```ts ignore
 * import { AptIndexes } from "./debian_apt.ts";
 * const indexes = await AptIndexes.create();
 * try {
 *   const state = await indexes.open(["deb http://deb.debian.org/debian sid main"], "x86_64");
 *   await downloadPackages(state, ["criu"], "/tmp/debs");
 * } finally {
 *   await indexes.close();
 * }
 * ```
 */
export class AptIndexes {
  readonly #dir: string;
  readonly #fetched = new Map<string, Promise<string>>();
  readonly #states = new Map<string, Promise<string>>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Indexes in a new scratch directory (under `parent`, else the system's temporary one). */
  static async create(parent?: string): Promise<AptIndexes> {
    return new AptIndexes(await Deno.makeTempDir({ dir: parent, prefix: "criu-matrix-apt-" }));
  }

  /**
   * The apt state reading `sources` on `arch`, with `options` (`Name=value`) on top (they change
   * apt's choices, not its package cache). One source's state is the one its index was fetched
   * into; several sources get a state of their own, made once, whose indexes are links to the
   * run's shared ones.
   */
  async open(sources: string[], arch: Arch, options: string[] = []): Promise<AptState> {
    const dir = sources.length === 1
      ? await this.#indexOf(sources[0], arch)
      : await this.#combined(sources, arch);
    return { options: asArguments([...stateOptions(dir, arch), ...options]) };
  }

  /** The state reading all of `sources` on `arch`, with its package cache built, made once. */
  #combined(sources: string[], arch: Arch): Promise<string> {
    const key = `${arch} ${sources.join("\n")}`;
    let made = this.#states.get(key);
    if (!made) {
      made = (async () => {
        const dir = join(this.#dir, `state-${this.#states.size}`);
        await makeState(dir, sources);
        const indexes = await Promise.all(sources.map((line) => this.#indexOf(line, arch)));
        for (const index of indexes) {
          for await (const entry of Deno.readDir(join(index, "lists"))) {
            if (entry.isFile && entry.name !== "lock") {
              await Deno.link(join(index, "lists", entry.name), join(dir, "lists", entry.name));
            }
          }
        }
        await runCommand(["apt-cache", ...asArguments(stateOptions(dir, arch)), "gencaches"]);
        return dir;
      })();
      this.#states.set(key, made);
    }
    return made;
  }

  /** The state whose index of `line` for `arch` was fetched (with its package cache), once. */
  #indexOf(line: string, arch: Arch): Promise<string> {
    const key = `${arch} ${line}`;
    let fetched = this.#fetched.get(key);
    if (!fetched) {
      fetched = (async () => {
        const dir = join(this.#dir, `index-${this.#fetched.size}`);
        await makeState(dir, [line]);
        await runCommand(["apt-get", ...asArguments(stateOptions(dir, arch)), "-q", "update"]);
        return dir;
      })();
      this.#fetched.set(key, fetched);
    }
    return fetched;
  }

  /** Removes the scratch directory. */
  async close(): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs `use` with `indexes`, or with indexes of its own (closed afterwards) when none are given.
 *
 * @example
 * ```ts ignore
 * import { withIndexes } from "./debian_apt.ts";
 * await withIndexes(undefined, (indexes) => indexes.open(sources, "aarch64"));
 * ```
 */
export async function withIndexes<T>(
  indexes: AptIndexes | undefined,
  use: (indexes: AptIndexes) => Promise<T>,
): Promise<T> {
  if (indexes) return await use(indexes);
  const own = await AptIndexes.create();
  try {
    return await use(own);
  } finally {
    await own.close();
  }
}

/**
 * Downloads `packages` and everything they depend on (not what they only recommend) into
 * `debsDir`, as apt would to install them on an empty system.
 *
 * @example
 * ```ts ignore
 * import { downloadPackages } from "./debian_apt.ts";
 * await downloadPackages(state, ["criu", "busybox-static"], "/tmp/debs");
 * ```
 */
export async function downloadPackages(
  state: AptState,
  packages: string[],
  debsDir: string,
): Promise<void> {
  await Deno.mkdir(join(debsDir, "partial"), { recursive: true });
  await runCommand([
    "apt-get",
    ...state.options,
    ...asArguments([`Dir::Cache::archives=${debsDir}/`]),
    "-q",
    "-y",
    "--no-install-recommends",
    "--download-only",
    "install",
    ...packages,
  ]);
}

/**
 * Downloads exactly `requests` (`name` or `name=version`), nothing they depend on, into `debsDir`.
 *
 * @example
 * ```ts ignore
 * import { downloadExactly } from "./debian_apt.ts";
 * await downloadExactly(state, ["linux-image-6.1.0-50-cloud-amd64=6.1.176-1"], "/tmp/debs");
 * ```
 */
export async function downloadExactly(
  state: AptState,
  requests: string[],
  debsDir: string,
): Promise<void> {
  await Deno.mkdir(debsDir, { recursive: true });
  await runCommand(["apt-get", ...state.options, "-q", "download", ...requests], { cwd: debsDir });
}

/** tar's option for each compression of a .deb's data archive, by the member's name ending. */
const TAR_DECOMPRESS: Record<string, string[]> = {
  "": [],
  ".xz": ["-J"],
  ".gz": ["-z"],
  ".zst": ["--zstd"],
  ".bz2": ["-j"],
  ".lzma": ["--lzma"],
};

/**
 * The data archive of a .deb (an ar archive, deb(5)): its compression, as the ending of its
 * member's name (`.xz` for `data.tar.xz`), and its bytes.
 *
 * @example
 * ```ts
 * import { debDataMember } from "./debian_apt.ts";
 * const header = (name: string, size: number) =>
 *   name.padEnd(16) + "0".padEnd(12) + "0".padEnd(6) + "0".padEnd(6) + "100644".padEnd(8) +
 *   String(size).padEnd(10) + "`\n";
 * const deb = new TextEncoder().encode(
 *   "!<arch>\n" + header("debian-binary", 4) + "2.0\n" + header("data.tar.xz", 3) + "xyz\n",
 * );
 * debDataMember(deb, "x.deb").extension; // ".xz"
 * ```
 */
export function debDataMember(
  deb: Uint8Array,
  name: string,
): { extension: string; bytes: Uint8Array } {
  const text = (from: number, length: number) =>
    new TextDecoder("latin1").decode(deb.subarray(from, from + length));
  if (text(0, 8) !== "!<arch>\n") {
    throw new InfraError(`${name} is not a Debian package: it is no ar archive`);
  }
  for (let offset = 8; offset + 60 <= deb.length;) {
    const member = text(offset, 16).trim().replace(/\/$/, "");
    const size = Number(text(offset + 48, 10).trim());
    const start = offset + 60;
    if (!Number.isSafeInteger(size) || size < 0 || start + size > deb.length) break;
    if (member.startsWith("data.tar")) {
      return {
        extension: member.slice("data.tar".length),
        bytes: deb.subarray(start, start + size),
      };
    }
    offset = start + size + size % 2;
  }
  throw new InfraError(`${name} is not a Debian package: it has no data.tar member`);
}

/**
 * Unpacks every .deb in `debsDir` into `root`, leaving out the paths `excluded` (tar patterns
 * anchored at the package root, e.g. `./usr/share/doc`), which are then never written at all.
 * The packages' data archives, in name order, are concatenated by compression and unpacked by
 * one tar each (`--ignore-zeros` reads on past each archive's end): a dpkg-deb and a tar per
 * package would be a few hundred processes per root file system.
 *
 * @example
 * ```ts ignore
 * import { unpackDebs } from "./debian_apt.ts";
 * await unpackDebs("/tmp/debs", "/tmp/root", ["./usr/share/doc"]);
 * ```
 */
export async function unpackDebs(
  debsDir: string,
  root: string,
  excluded: readonly string[] = [],
): Promise<void> {
  const debs = [];
  for await (const entry of Deno.readDir(debsDir)) {
    if (entry.name.endsWith(".deb")) debs.push(entry.name);
  }
  // Runs of consecutive packages compressed alike, each one archive: later files win, as when
  // the packages are unpacked one by one.
  const runs: { extension: string; parts: Uint8Array[] }[] = [];
  for (const name of debs.sort()) {
    const { extension, bytes } = debDataMember(await Deno.readFile(join(debsDir, name)), name);
    if (!(extension in TAR_DECOMPRESS)) {
      throw new InfraError(`${name}: its data archive is compressed as ${extension}, unknown here`);
    }
    if (runs.at(-1)?.extension !== extension) runs.push({ extension, parts: [] });
    runs.at(-1)!.parts.push(bytes);
  }
  for (const [index, { extension, parts }] of runs.entries()) {
    const archive = join(debsDir, `.unpack-${index}.tar${extension}`);
    for (const part of parts) await Deno.writeFile(archive, part, { append: true });
    // -p: modes as packaged, also for a user who is not root.
    await runCommand([
      "tar",
      "-x",
      "--ignore-zeros",
      "-p",
      ...TAR_DECOMPRESS[extension],
      "-f",
      archive,
      "-C",
      root,
      "--anchored",
      ...excluded.map((pattern) => `--exclude=${pattern}`),
    ]);
    await Deno.remove(archive);
  }
}

/**
 * The Debian version of package `name` among the .debs in `debsDir`.
 *
 * @example
 * ```ts ignore
 * import { debVersion } from "./debian_apt.ts";
 * console.log(await debVersion("/tmp/debs", "criu")); // "4.2.1-1"
 * ```
 */
export async function debVersion(debsDir: string, name: string): Promise<string> {
  for await (const entry of Deno.readDir(debsDir)) {
    if (entry.name.startsWith(`${name}_`) && entry.name.endsWith(".deb")) {
      const { stdout } = await runCommand([
        "dpkg-deb",
        "--field",
        join(debsDir, entry.name),
        "Version",
      ]);
      return stdout.trim();
    }
  }
  throw new InfraError(`no ${name} package among the downloads in ${debsDir}`);
}
