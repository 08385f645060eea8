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

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Indexes in a new scratch directory (under `parent`, else the system's temporary one). */
  static async create(parent?: string): Promise<AptIndexes> {
    return new AptIndexes(await Deno.makeTempDir({ dir: parent, prefix: "criu-matrix-apt-" }));
  }

  /**
   * A fresh apt state reading `sources` on `arch`, with `options` (`Name=value`) on top. Its
   * indexes are links to the run's shared ones, fetched now if no image has needed them yet.
   */
  async open(sources: string[], arch: Arch, options: string[] = []): Promise<AptState> {
    const dir = await Deno.makeTempDir({ dir: this.#dir, prefix: "state-" });
    await makeState(dir, sources);
    const lists = await Promise.all(sources.map((line) => this.#listsOf(line, arch)));
    for (const source of lists) {
      for await (const entry of Deno.readDir(source)) {
        if (entry.isFile && entry.name !== "lock") {
          await Deno.link(join(source, entry.name), join(dir, "lists", entry.name));
        }
      }
    }
    return { options: asArguments([...stateOptions(dir, arch), ...options]) };
  }

  /** The lists directory holding `line`'s index for `arch`, fetched once. */
  #listsOf(line: string, arch: Arch): Promise<string> {
    const key = `${arch} ${line}`;
    let fetched = this.#fetched.get(key);
    if (!fetched) {
      fetched = (async () => {
        const dir = join(this.#dir, `index-${this.#fetched.size}`);
        await makeState(dir, [line]);
        await runCommand(["apt-get", ...asArguments(stateOptions(dir, arch)), "-q", "update"]);
        return join(dir, "lists");
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

/**
 * Unpacks every .deb in `debsDir` into `root`, leaving out the paths `excluded` (tar patterns
 * anchored at the package root, e.g. `./usr/share/doc`), which are then never written at all.
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
    if (entry.name.endsWith(".deb")) debs.push(join(debsDir, entry.name));
  }
  await runCommand([
    "sh",
    "-c",
    // -p: modes as packaged, also for a user who is not root.
    'root="$1"; shift; for deb; do dpkg-deb --fsys-tarfile "$deb" | ' +
    `tar -x -p -C "$root" --anchored ${excluded.map((p) => `--exclude='${p}'`).join(" ")} ` +
    "|| exit 1; done",
    "unpack",
    root,
    ...debs.sort(),
  ]);
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
