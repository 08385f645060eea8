/**
 * "Bring your own CRIU": what a `--criu` value names (a source tree, a tree plus patches, or
 * prebuilt binaries), and building a tree for a guest arch, cached by content.
 *
 * Builds target a bookworm guest: natively on a bookworm x86_64 host, and for aarch64 with
 * Debian's cross toolchain and arm64 libraries installed through multiarch. A build lives in
 * `${cacheDir}/criu-builds/criu-VERSION-ARCH-HASH/` (`criu`, `build.log`, `manifest.json`); it is
 * made in a temporary sibling and renamed into place, so a half build is never reused. The hash
 * covers the tree (its git commit when it is a clean checkout, else its files' content), the
 * patches' content, the arch, {@link CRIU_BUILD_RECIPE} and the build fixes an old release needs
 * (`build_fixes.ts`), applied after the user's patches.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { cachedBuildDir, exists } from "../../vm/build_cache.ts";
import { runCommand } from "../host/exec.ts";
import { sha256File, sha256Hex } from "../host/sha256.ts";
import { criuBuildPackages } from "../host/host_tools.ts";
import { symlink } from "../../vm/image.ts";
import { requireRegularFile, writeFileReplacing } from "../core/confined_path.ts";
import { InfraError, InputError } from "../core/errors.ts";
import { type Arch, ARCHES, type DebianSuite } from "../core/types.ts";
import { DEBIAN_ARCH } from "../core/catalog.ts";
import type { BuildFlags } from "./build_flags.ts";
import { buildFixesFor } from "./build_fixes.ts";
import {
  BUILD_ERAS,
  type BuildEra,
  ensureBuildRoot,
  HOST_BUILD_SUITE,
  inRoot,
} from "./build_root.ts";

/**
 * What a `--criu` value names. Accepted forms:
 * - `DIR`: a CRIU source tree;
 * - `DIR+a.patch+b.patch`: a tree and patches applied in order with `patch -p1` (paths relative to
 *   the current directory);
 * - `FILE`: a prebuilt CRIU binary, used for the arch its ELF header names;
 * - `x86_64=FILE,aarch64=FILE`: one prebuilt binary per arch, each checked against its arch.
 */
export type CriuArgument =
  | { kind: "tree"; tree: string; patches: string[] }
  | { kind: "binary"; binaries: Partial<Record<Arch, string>> };

/** A built CRIU, as {@link ensureCriuBuild} returns it. */
export interface CriuBuild {
  arch: Arch;
  /** Absolute path of the `criu` binary in the cache. */
  binary: string;
  /** The version the tree's Makefile.versions gives, e.g. `4.1.1`. */
  version: string;
  /** The Debian suite whose toolchain built it (the host's, or an era root's); its guest runs it. */
  suite: DebianSuite;
  /** The build era (see {@link BUILD_ERAS}) that built it, e.g. `bullseye-lenient`. */
  era: string;
  /** The distribution flags it was compiled with, or null for CRIU's own. */
  flags: BuildFlags | null;
  /** The build fixes (harness/builds/build_fixes.ts) applied to build it, by name; mostly none. */
  fixes: string[];
  origin: {
    tree: string;
    /** `git rev-parse HEAD` when the tree is a git checkout, else null. */
    commit: string | null;
    /** True when the checkout has changes against `commit` (always false without git). */
    dirty: boolean;
    /** SHA-256 over the tree's files (git: tracked and untracked-not-ignored ones). */
    contentHash: string;
    patches: { path: string; sha256: string }[];
  };
  /** Absolute path of the full build log, kept in the cache entry. */
  buildLog: string;
  /** The Debian packages of the guest's arch holding the shared libraries the binary needs. */
  runtimePackages: string[];
}

/**
 * How a build is made; part of every cache key, so changing it rebuilds everything. GnuTLS is
 * disabled so that the binary needs no more than {@link CRIU_RUNTIME_PACKAGES}.
 *
 * @example
 * ```ts
 * import { CRIU_BUILD_RECIPE } from "./criu.ts";
 * console.log(CRIU_BUILD_RECIPE.makeArgs.includes("NO_GNUTLS=1")); // true
 * ```
 */
export const CRIU_BUILD_RECIPE = {
  version: 2,
  makeArgs: ["-j2", "criu", "NO_GNUTLS=1"],
  cross: { aarch64: ["ARCH=aarch64", "CROSS_COMPILE=aarch64-linux-gnu-"] },
} as const;

/**
 * The bookworm packages a source-built CRIU needs in the guest besides libc6 (always there).
 * {@link ensureCriuBuild} refuses a binary that needs more.
 *
 * @example
 * ```ts
 * import { CRIU_RUNTIME_PACKAGES } from "./criu.ts";
 * const packages = ["busybox-static", ...CRIU_RUNTIME_PACKAGES];
 * ```
 */
export const CRIU_RUNTIME_PACKAGES = ["libprotobuf-c1", "libnl-3-200", "libnet1", "libuuid1"];

const MULTIARCH: Record<Arch, string> = {
  x86_64: "x86_64-linux-gnu",
  aarch64: "aarch64-linux-gnu",
};
const ELF_MACHINE: Record<number, Arch> = { 62: "x86_64", 183: "aarch64" };
/**
 * The files every CRIU source tree has: what tells a CRIU tree (or a commit of a CRIU
 * repository) from any other.
 *
 * @example
 * ```ts
 * import { CRIU_TREE_MARKERS } from "./criu.ts";
 * CRIU_TREE_MARKERS.includes("Makefile.versions"); // true
 * ```
 */
export const CRIU_TREE_MARKERS: readonly string[] = [
  "criu/Makefile",
  "compel/Makefile",
  "Makefile.versions",
];

/**
 * The arch of a 64-bit little-endian ELF file, from its header's `e_machine`.
 *
 * @example
 * ```ts ignore
 * import { readElfArch } from "./criu.ts";
 * console.log(await readElfArch("/usr/bin/true")); // "x86_64"
 * ```
 */
export async function readElfArch(path: string): Promise<Arch> {
  const head = new Uint8Array(20);
  const file = await Deno.open(path);
  let read: number | null;
  try {
    read = await file.read(head);
  } finally {
    file.close();
  }
  const isElf = read === 20 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c &&
    head[3] === 0x46;
  if (!isElf) throw new InputError(`not an ELF file: ${path} (expected a CRIU binary)`);
  const machine = new DataView(head.buffer).getUint16(18, true);
  const arch = head[4] === 2 && head[5] === 1 ? ELF_MACHINE[machine] : undefined;
  if (!arch) {
    throw new InputError(
      `unsupported ELF binary: ${path} (e_machine ${machine}, class ${head[4]}); ` +
        `expected a 64-bit x86_64 or aarch64 CRIU`,
    );
  }
  return arch;
}

/** Whether `path` holds a CRIU source tree (every one of {@link CRIU_TREE_MARKERS}). */
export async function isCriuTree(path: string): Promise<boolean> {
  for (const marker of CRIU_TREE_MARKERS) if (!(await exists(join(path, marker)))) return false;
  return true;
}

/**
 * The error for something that is not a CRIU source tree, naming it and what a tree holds.
 *
 * @example
 * ```ts
 * import { notACriuTree } from "./criu.ts";
 * notACriuTree("/src/linux").message;
 * // "not a CRIU source tree: /src/linux (expected criu/, compel/, Makefile.versions)"
 * ```
 */
export function notACriuTree(what: string): InputError {
  return new InputError(
    `not a CRIU source tree: ${what} (expected criu/, compel/, Makefile.versions)`,
  );
}

/**
 * Decides what a `--criu` value names (see {@link CriuArgument} for the forms) and checks it:
 * trees must hold criu/, compel/ and Makefile.versions, patches must exist, binaries must be ELF
 * files of the arch they are given for. Paths come back absolute.
 *
 * @example
 * ```ts ignore
 * import { classifyCriuArgument } from "./criu.ts";
 * await classifyCriuArgument("../criu+fix.patch");
 * // { kind: "tree", tree: "/src/criu", patches: ["/src/criu-matrix/fix.patch"] }
 * await classifyCriuArgument("x86_64=out/criu,aarch64=out/criu.arm64");
 * // { kind: "binary", binaries: { x86_64: "/…/out/criu", aarch64: "/…/out/criu.arm64" } }
 * ```
 */
export async function classifyCriuArgument(value: string): Promise<CriuArgument> {
  if (/^\w+=/.test(value)) {
    const binaries: Partial<Record<Arch, string>> = {};
    for (const item of value.split(",")) {
      const match = item.match(/^(x86_64|aarch64)=(.+)$/);
      if (!match) {
        throw new InputError(
          `bad --criu item: ${item} (expected x86_64=PATH or aarch64=PATH, comma-separated)`,
        );
      }
      const [, wanted, path] = match as unknown as [string, Arch, string];
      const file = resolve(path);
      if (!(await exists(file))) throw new InputError(`CRIU binary not found: ${file}`);
      // A FIFO or a device would block the ELF header's read.
      await requireRegularFile(file).catch((error) => {
        throw new InputError(`${wanted}=${path}: ${error.message}`);
      });
      const actual = await readElfArch(file);
      if (actual !== wanted) {
        throw new InputError(`--criu ${wanted}=${path}: the binary is built for ${actual}`);
      }
      binaries[wanted] = file;
    }
    return { kind: "binary", binaries };
  }
  const [treePath, ...patchPaths] = value.split("+");
  const tree = resolve(treePath);
  const stat = await Deno.stat(tree).catch(() => null);
  if (!stat) throw new InputError(`--criu path not found: ${tree}`);
  if (stat.isFile && patchPaths.length === 0) {
    return { kind: "binary", binaries: { [await readElfArch(tree)]: tree } };
  }
  if (!stat.isDirectory || !(await isCriuTree(tree))) throw notACriuTree(tree);
  const patches = patchPaths.map((p) => resolve(p));
  for (const patch of patches) {
    if (!(await Deno.stat(patch).then((s) => s.isFile, () => false))) {
      throw new InputError(`patch not found: ${patch} (patch paths are relative to ${Deno.cwd()})`);
    }
  }
  return { kind: "tree", tree, patches };
}

/**
 * The version a CRIU tree declares in Makefile.versions, e.g. `4.1.1` or `4.2-rc1`.
 *
 * @example
 * ```ts ignore
 * import { readCriuVersion } from "./criu.ts";
 * console.log(await readCriuVersion("/src/criu-4.1.1")); // "4.1.1"
 * ```
 */
export async function readCriuVersion(tree: string): Promise<string> {
  const text = await Deno.readTextFile(join(tree, "Makefile.versions")).catch(() => {
    throw notACriuTree(tree);
  });
  const field = (name: string) =>
    text.match(new RegExp(`^CRIU_VERSION_${name}\\s*:=[ \\t]*(\\S*)`, "m"))?.[1] ?? "";
  const major = field("MAJOR");
  if (!major) throw new InputError(`no CRIU_VERSION_MAJOR in ${join(tree, "Makefile.versions")}`);
  const extra = field("EXTRA");
  return [major, field("MINOR"), field("SUBLEVEL")].filter(Boolean).join(".") +
    (extra ? `.${extra}` : "");
}

/** The tree's files (relative), and its git commit and state when it is a checkout. */
async function describeTree(
  tree: string,
): Promise<{ files: string[]; commit: string | null; dirty: boolean }> {
  const git = (...args: string[]) => runCommand(["git", "-C", tree, ...args]);
  const isCheckout = await exists(join(tree, ".git")) &&
    (await runCommand(["git", "-C", tree, "rev-parse", "HEAD"], { allowFailure: true })).code ===
      0;
  if (isCheckout) {
    const commit = (await git("rev-parse", "HEAD")).stdout.trim();
    const dirty = (await git("status", "--porcelain")).stdout.trim() !== "";
    const listed = (await git("ls-files", "-z", "--cached", "--others", "--exclude-standard"))
      .stdout.split("\0").filter(Boolean);
    // Deleted-but-tracked files are listed by --cached; only what is there is copied.
    const files = [];
    for (const file of listed) {
      if (await Deno.lstat(join(tree, file)).catch(() => null)) files.push(file);
    }
    return { files: files.sort(), commit, dirty };
  }
  const { stdout } = await runCommand([
    "find",
    ".",
    "(",
    "-name",
    ".git",
    "-prune",
    ")",
    "-o",
    "(",
    "-type",
    "f",
    "-o",
    "-type",
    "l",
    ")",
    "-printf",
    "%P\\0",
  ], { cwd: tree });
  return { files: stdout.split("\0").filter(Boolean).sort(), commit: null, dirty: false };
}

/**
 * SHA-256 over the names, link targets and contents of `files` (relative to `tree`).
 *
 * @example
 * ```ts ignore
 * import { hashTreeFiles } from "./criu.ts";
 * console.log(await hashTreeFiles("/src/criu", ["Makefile", "Makefile.versions"]));
 * ```
 */
export async function hashTreeFiles(tree: string, files: string[]): Promise<string> {
  const lines: string[] = [];
  const regular: string[] = [];
  for (const file of [...files].sort()) {
    const path = join(tree, file);
    if ((await Deno.lstat(path)).isSymlink) lines.push(`link ${file} ${await Deno.readLink(path)}`);
    else regular.push(file);
  }
  // The lines sha256sum would print, in batches of 500 as it once ran: cache keys stay the same.
  for (let i = 0; i < regular.length; i += 500) {
    let batch = "";
    for (const file of regular.slice(i, i + 500)) {
      batch += `${await sha256File(join(tree, file))}  ${file}\n`;
    }
    lines.push(batch);
  }
  return sha256Hex(lines.join("\n"));
}

/** The Debian packages (of the arch) holding the shared libraries `binary` needs. */
async function runtimePackagesOf(binary: string, arch: Arch): Promise<string[]> {
  const { stdout } = await runCommand(["readelf", "-d", binary]);
  const sonames = [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) =>
    m[1]
  );
  const packages = new Set<string>();
  for (const soname of sonames) {
    const candidates = [
      `/usr/lib/${MULTIARCH[arch]}/${soname}`,
      `/lib/${MULTIARCH[arch]}/${soname}`,
    ];
    let owner: string | null = null;
    for (const path of candidates) {
      const found = await runCommand(["dpkg-query", "-S", path], { allowFailure: true });
      if (found.code === 0) owner = found.stdout.split(":")[0];
      if (owner) break;
    }
    if (!owner) {
      throw new InfraError(
        `cannot tell which ${DEBIAN_ARCH[arch]} package provides ${soname}, needed by ${binary}`,
      );
    }
    packages.add(owner);
  }
  return [...packages].sort();
}

/**
 * Applies `patch` to `src` with `patch -p1`, appending what it printed to `logFile`; returns null,
 * or the tail of its output when it does not apply.
 */
async function applyPatch(src: string, patch: string, logFile: string): Promise<string | null> {
  const applied = await runCommand(["patch", "-p1", "--batch", "-i", patch], {
    cwd: src,
    allowFailure: true,
  });
  const output = applied.stdout + applied.stderr;
  await Deno.writeTextFile(logFile, `$ patch -p1 -i ${patch}\n${output}`, { append: true });
  return applied.code === 0 ? null : tail(output, 10);
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

interface BuildManifest {
  /** `era` and `fixes` are missing in builds cached before there were lenient eras or fixes. */
  build: Omit<CriuBuild, "binary" | "buildLog" | "era" | "fixes"> & {
    era?: string;
    fixes?: string[];
  };
  binarySha256: string;
  builtAt: string;
  buildSeconds: number;
}

async function readBuildManifest(dir: string): Promise<BuildManifest | null> {
  try {
    const manifest = JSON.parse(
      await Deno.readTextFile(join(dir, "manifest.json")),
    ) as BuildManifest;
    return (await sha256File(join(dir, "criu"))) === manifest.binarySha256 ? manifest : null;
  } catch {
    return null;
  }
}

/** Where one build runs: on the host, or inside an era root (paths then as seen inside it). */
interface BuildPlace {
  era: BuildEra;
  /** The root directory, or null for the host. */
  root: string | null;
}

/**
 * Runs make in `src` for `arch` at `place`, appending everything it prints to `logFile`.
 * `src`, `linkDir` and `ccacheDir` are paths as the compiler sees them.
 */
async function make(
  paths: { src: string; linkDir: string; ccacheDir: string },
  arch: Arch,
  logFile: string,
  place: BuildPlace,
  flags: BuildFlags | null,
): Promise<boolean> {
  const compiler = arch === "aarch64" ? `aarch64-linux-gnu-gcc -L${paths.linkDir}` : "gcc";
  const args = [
    ...CRIU_BUILD_RECIPE.makeArgs,
    ...(arch === "aarch64" ? CRIU_BUILD_RECIPE.cross.aarch64 : []),
    ...place.era.makeVars,
    // The cross linker ignores LIBRARY_PATH; -L in CC reaches every link, incl. make's checks.
    ["CC=ccache", compiler, ...place.era.ccOptions].join(" "),
  ];
  const multiarch = MULTIARCH[arch];
  const env: Record<string, string> = {
    // Only the guest arch's .pc files: a host-only optional library must not switch a feature on.
    PKG_CONFIG_LIBDIR: `/usr/lib/${multiarch}/pkgconfig:/usr/share/pkgconfig`,
    PKG_CONFIG_PATH: "",
    // One compiler cache for every commit: each builds in a new directory, so paths are made
    // relative to it and the directory is left out of the hash.
    CCACHE_DIR: paths.ccacheDir,
    CCACHE_BASEDIR: paths.src,
    CCACHE_NOHASHDIR: "1",
    // As dpkg-buildpackage does: in the environment, so CRIU's Makefiles add their own to them.
    ...(flags ? { CFLAGS: flags.CFLAGS, CPPFLAGS: flags.CPPFLAGS, LDFLAGS: flags.LDFLAGS } : {}),
  };
  const command = place.root === null ? ["make", ...args] : [
    ...inRoot(place.root),
    "sh",
    "-c",
    'cd "$1" && shift && exec make "$@"',
    "make",
    paths.src,
    ...args,
  ];
  const log = await Deno.open(logFile, { append: true, create: true });
  try {
    const shown = flags ? `CFLAGS="${flags.CFLAGS}" LDFLAGS="${flags.LDFLAGS}" ` : "";
    await log.write(
      new TextEncoder().encode(`$ [${place.era.name}] ${shown}make ${args.join(" ")}\n`),
    );
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: place.root === null ? paths.src : undefined,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both streams go to the log, interleaved as they come.
    await Promise.all([child.stdout, child.stderr].map(async (stream) => {
      for await (const chunk of stream) await log.write(chunk);
    }));
    return (await child.status).success;
  } finally {
    log.close();
  }
}

/** What was learnt building one source: per era tried, whether it built and how long it took. */
type EraAttempts = Record<string, { built: boolean; seconds: number }>;

/**
 * The file recording which build eras a source (with its patches, recipe and flags) built in:
 * the release-to-era mapping, so a rebuild skips the eras known not to work.
 */
function attemptsFile(root: string, hash: string): string {
  return join(root, "build-eras", `${hash}.json`);
}

/** The recorded attempts, or none when the file is missing or damaged (then all are tried). */
async function readAttempts(file: string): Promise<EraAttempts> {
  try {
    const value = JSON.parse(await Deno.readTextFile(file));
    const entries = Object.entries(value as Record<string, unknown>).filter(([, attempt]) =>
      typeof (attempt as { built?: unknown })?.built === "boolean"
    );
    return Object.fromEntries(entries) as EraAttempts;
  } catch {
    return {};
  }
}

/**
 * Builds the prepared tree `src` for `arch` in each of {@link BUILD_ERAS} in turn (the host's
 * toolchain first, then older era roots) until one builds; with an era recorded in `attempts`
 * as building it, that one first and the eras recorded as failing not at all. Leaves `criu` in `tmp` and returns the era that built it, or null (every failure is
 * in `logFile`).
 */
async function buildInEras(
  src: string,
  tmp: string,
  arch: Arch,
  logFile: string,
  attempts: EraAttempts,
  options: { cacheDir: string; log: (line: string) => void; flags: BuildFlags | null },
): Promise<BuildEra | null> {
  // The era known to build this source goes first and alone, unless it fails now; eras that
  // failed are skipped only then: failures with no era known to work (a host package missing at
  // the time) are tried again.
  const known = BUILD_ERAS.find((era) => attempts[era.name]?.built === true);
  const order = known ? [known, ...BUILD_ERAS.filter((era) => era !== known)] : BUILD_ERAS;
  for (const era of order) {
    if (known && attempts[era.name]?.built === false) continue;
    const started = performance.now();
    let built: boolean;
    if (era.suite === HOST_BUILD_SUITE) {
      // A copy: a failed build leaves dependency files naming this toolchain's headers.
      const hostSrc = join(tmp, "host-src");
      await runCommand(["cp", "-a", src, hostSrc]);
      const linkDir = join(tmp, "link");
      await Deno.mkdir(linkDir, { recursive: true });
      await symlink(`/usr/lib/${MULTIARCH[arch]}/libnet.so.1`, join(linkDir, "libnet.so"));
      const ccacheDir = join(resolve(options.cacheDir), "ccache");
      built = await make({ src: hostSrc, linkDir, ccacheDir }, arch, logFile, {
        era,
        root: null,
      }, options.flags);
      if (built) await Deno.rename(join(hostSrc, "criu/criu"), join(tmp, "criu"));
      await Deno.remove(hostSrc, { recursive: true });
      await Deno.remove(linkDir, { recursive: true });
    } else {
      const root = await ensureBuildRoot(
        era.suite,
        ARCHES.flatMap(criuBuildPackages),
        options.cacheDir,
        options.log,
      );
      // The build happens inside the root, in a directory of its own.
      const inside = `/build/${basename(tmp)}`;
      await Deno.mkdir(join(root, "build"), { recursive: true });
      await runCommand(["cp", "-a", src, join(root, inside)]);
      const linkDir = `${inside}-link`;
      await Deno.mkdir(join(root, linkDir));
      await symlink(`/usr/lib/${MULTIARCH[arch]}/libnet.so.1`, join(root, linkDir, "libnet.so"));
      options.log(`building in the ${era.name} root: the eras before it failed`);
      try {
        built = await make(
          { src: inside, linkDir, ccacheDir: "/ccache" },
          arch,
          logFile,
          { era, root },
          options.flags,
        );
        if (built) await Deno.copyFile(join(root, inside, "criu/criu"), join(tmp, "criu"));
      } finally {
        await Deno.remove(join(root, inside), { recursive: true });
        await Deno.remove(join(root, linkDir), { recursive: true });
      }
    }
    attempts[era.name] = { built, seconds: (performance.now() - started) / 1000 };
    if (built) return era;
  }
  return null;
}

/**
 * Builds `tree` with `patches` for `arch` (or reuses the cached build) and returns the binary,
 * its version and origin, and the kept build log. The tree is copied to a temporary directory
 * first, so it is never modified; the build fixes the tree needs for `arch` are applied to the
 * copy after `patches`. Throws when a patch does not apply (naming it) or when the build
 * fails (naming the kept log and quoting its last lines). Call {@link ensureCriuBuildDeps} first.
 *
 * @example
 * ```ts ignore
 * import { ensureCriuBuild } from "./criu.ts";
 * const build = await ensureCriuBuild({
 *   tree: "/src/criu",
 *   patches: ["/src/fix.patch"],
 *   arch: "aarch64",
 *   cacheDir: "/root/.cache/criu-matrix",
 *   log: console.log,
 * });
 * console.log(build.binary, build.version); // ".../criu-builds/criu-4.1.1-aarch64-…/criu 4.1.1"
 * ```
 */
export async function ensureCriuBuild(options: {
  /** Distribution flags (`--build-flags debian-SUITE`), or null for CRIU's own. */
  flags?: BuildFlags | null;
  /** The commit `tree` was exported from (it has no .git), when it was. */
  commit?: string;
  tree: string;
  patches: string[];
  arch: Arch;
  cacheDir: string;
  log: (line: string) => void;
}): Promise<CriuBuild> {
  const { arch, log } = options;
  const tree = resolve(options.tree);
  if (!(await isCriuTree(tree))) throw notACriuTree(tree);
  const version = await readCriuVersion(tree);
  const described = await describeTree(tree);
  const { files } = described;
  // A tree exported from a commit is that commit: cached as its checkout would be.
  const commit = options.commit ?? described.commit;
  const dirty = options.commit ? false : described.dirty;
  const patches: CriuBuild["origin"]["patches"] = [];
  for (const path of options.patches.map((p) => resolve(p))) {
    const sha256 = await sha256File(path).catch(() => {
      throw new InputError(`patch not found: ${path}`);
    });
    patches.push({ path, sha256 });
  }
  const origin = { tree, commit, dirty, contentHash: await hashTreeFiles(tree, files), patches };
  const fixes = await buildFixesFor(tree, arch);
  const key = {
    recipe: CRIU_BUILD_RECIPE,
    arch,
    source: commit && !dirty ? `git:${commit}` : `content:${origin.contentHash}`,
    patches: patches.map((p) => p.sha256),
    flags: options.flags ?? null,
    // Only when there are any: the keys of the builds that need none stay as they were.
    ...(fixes.length > 0 ? { fixes: fixes.map(({ fix, sha256 }) => `${fix.name}:${sha256}`) } : {}),
  };
  const hash = sha256Hex(JSON.stringify(key)).slice(0, 16);
  const name = `criu-${version}-${arch}-${hash}`;
  const root = join(resolve(options.cacheDir), "criu-builds");

  const dir = await cachedBuildDir(root, name, async (tmp) => {
    log(`building CRIU ${version} for ${arch} from ${tree} (log: ${join(root, name)}/build.log)`);
    const started = performance.now();
    const src = join(tmp, "src");
    const logFile = join(tmp, "build.log");
    await Deno.mkdir(src);
    await copyTreeFiles(tree, files, src);
    for (const patch of patches) {
      const failure = await applyPatch(src, patch.path, logFile);
      if (failure !== null) {
        throw new InputError(
          `patch does not apply: ${patch.path} (to ${tree}):\n${failure}\n` +
            "Refresh the patch against this tree.",
        );
      }
    }
    for (const { fix, patch } of fixes) {
      const failure = await applyPatch(src, patch, logFile);
      if (failure !== null) {
        throw new InfraError(
          `the build fix ${fix.name} (from ${fix.upstream}) does not apply to ${tree}:\n${failure}`,
        );
      }
    }
    const attemptsPath = attemptsFile(root, hash);
    const attempts = await readAttempts(attemptsPath);
    const era = await buildInEras(src, tmp, arch, logFile, attempts, {
      ...options,
      flags: options.flags ?? null,
    });
    await Deno.mkdir(join(attemptsPath, ".."), { recursive: true });
    await writeFileReplacing(attemptsPath, JSON.stringify(attempts, null, 2));
    if (era === null) {
      const kept = join(root, `failed-${name}.log`);
      await Deno.copyFile(logFile, kept);
      throw new InfraError(
        `building CRIU ${version} for ${arch} failed in ${Object.keys(attempts).join(", ")}; ` +
          `full log: ${kept}\n` + tail(await Deno.readTextFile(logFile)),
      );
    }
    await Deno.remove(src, { recursive: true });
    const binaryArch = await readElfArch(join(tmp, "criu"));
    if (binaryArch !== arch) {
      throw new InfraError(`the ${arch} build produced a ${binaryArch} binary`);
    }
    const runtimePackages = await runtimePackagesOf(join(tmp, "criu"), arch);
    const extra = runtimePackages.filter((p) =>
      p !== "libc6" && !CRIU_RUNTIME_PACKAGES.includes(p)
    );
    if (extra.length > 0) {
      throw new InfraError(
        `the CRIU built for ${arch} needs ${extra.join(", ")}, which the guest lacks; ` +
          `remove their -dev packages from the host (or add them to CRIU_RUNTIME_PACKAGES)`,
      );
    }
    const manifest: BuildManifest = {
      build: {
        arch,
        version,
        suite: era.suite,
        era: era.name,
        flags: options.flags ?? null,
        fixes: fixes.map(({ fix }) => fix.name),
        origin,
        runtimePackages,
      },
      binarySha256: await sha256File(join(tmp, "criu")),
      builtAt: new Date().toISOString(),
      buildSeconds: (performance.now() - started) / 1000,
    };
    await Deno.writeTextFile(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2));
    log(
      `built CRIU ${version} for ${arch} (${era.name}) in ${manifest.buildSeconds.toFixed(0)} s`,
    );
  }, async (candidate) => (await readBuildManifest(candidate)) !== null);

  const { build } = (await readBuildManifest(dir))!;
  // Builds cached before there were lenient eras name only their suite.
  return {
    ...build,
    era: build.era ?? build.suite,
    fixes: build.fixes ?? [],
    origin,
    binary: join(dir, "criu"),
    buildLog: join(dir, "build.log"),
  };
}

/**
 * Copies `files` (relative to `tree`, symlinks kept as links) into the existing dir `target`.
 *
 * @example
 * ```ts ignore
 * import { copyTreeFiles } from "./criu.ts";
 * await copyTreeFiles("/src/criu", ["Makefile", "criu/Makefile"], "/tmp/copy");
 * ```
 */
export async function copyTreeFiles(tree: string, files: string[], target: string): Promise<void> {
  const list = await Deno.makeTempFile({ prefix: "criu-matrix-files-" });
  await Deno.writeTextFile(list, files.join("\0") + "\0");
  await runCommand([
    "sh",
    "-c",
    'tar -C "$1" --null -T "$2" -cf - | tar -C "$3" -xf -',
    "copy",
    tree,
    list,
    target,
  ]);
  await Deno.remove(list);
}
