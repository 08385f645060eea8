/**
 * Builds guest images from recipes, or reuses them from the cache.
 *
 * An image is a directory under the cache named by the hash of its recipe. It is built in a
 * temporary sibling and renamed into place whole, so a half-built or concurrently built image is
 * never seen; its manifest records the SHA-256 of every artifact, checked before each reuse, so a
 * truncated or corrupted image is rebuilt instead of booted.
 *
 * @module
 */
import { basename, join } from "node:path";
import {
  GUEST_MODULES,
  IMAGE_FORMAT,
  type KernelRecipe,
  type LocalKernelRecipe,
  type RootfsRecipe,
} from "./recipes.ts";
import { cachedBuildDir, exists } from "./build_cache.ts";
import { DECOMPRESSORS, writeBootKernel } from "./boot_kernel.ts";
import {
  type AptIndexes,
  debVersion,
  downloadPackages,
  unpackDebs,
  withIndexes,
} from "./debian_apt.ts";
import { fetchDebianKernel } from "./debian_kernel.ts";
import { runCommand } from "../harness/host/exec.ts";
import { packCpio } from "./initrd.ts";
import { InfraError, InputError } from "../harness/core/errors.ts";
import type { KernelSpec } from "../harness/core/types.ts";
import { sha256File, sha256Hex } from "../harness/host/sha256.ts";

/** A root file system ready to boot: an uncompressed cpio (the kernel unpacks it fastest). */
export interface RootfsImage {
  recipe: RootfsRecipe;
  dir: string;
  cpio: string;
  /**
   * The Debian version of the criu package inside, e.g. `3.17.1-2+deb12u2`; `none` in a suite
   * without one (bullseye), whose guests only run a CRIU brought by the user.
   */
  criuPackageVersion: string;
}

/** A kernel ready to boot with `-kernel`, and its modules as a cpio to append to the initrd. */
export interface KernelImage {
  dir: string;
  /** What QEMU's `-kernel` boots (see {@link writeBootKernel}). */
  bootFile: string;
  modulesCpio: string;
  /** `uname -r` of the kernel, e.g. `6.1.0-50-cloud-amd64`. */
  release: string;
}

type ImageRecipe = RootfsRecipe | KernelRecipe | LocalKernelRecipe;

interface Manifest {
  recipe: ImageRecipe;
  files: Record<string, string>;
  facts: Record<string, string>;
  builtAt: string;
  buildSeconds: number;
}

/** The cache directory (see {@link defaultCacheDir}); kept here for the modules that import it from here. */
export { defaultCacheDir } from "../harness/host/cache_dir.ts";

/**
 * The cache directory name of a recipe: readable prefix plus the recipe's hash.
 *
 * @example
 * ```ts
 * import { imageKey } from "./image.ts";
 * import { rootfsRecipe } from "./recipes.ts";
 * console.log(imageKey(rootfsRecipe("sid", "aarch64"))); // "rootfs-sid-aarch64-<hash>"
 * ```
 */
export function imageKey(recipe: ImageRecipe): string {
  const hash = sha256Hex(JSON.stringify(recipe)).slice(0, 16);
  const name = recipe.kind === "rootfs" ? recipe.suite : recipe.name;
  return `${recipe.kind}-${name}-${recipe.arch}-${hash}`;
}

async function readManifest(dir: string): Promise<Manifest | null> {
  try {
    const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json"))) as Manifest;
    for (const [file, hash] of Object.entries(manifest.files)) {
      if (await sha256File(join(dir, file)) !== hash) return null;
    }
    return manifest;
  } catch {
    return null;
  }
}

/**
 * Returns the image dir for `recipe`, building it with `build` (into a temporary directory that is
 * renamed into place) when it is missing or fails its content check.
 */
async function cachedImage(
  cacheDir: string,
  recipe: ImageRecipe,
  build: (tmp: string) => Promise<{ files: string[]; facts: Record<string, string> }>,
  log: (line: string) => void,
): Promise<{ dir: string; manifest: Manifest }> {
  const imagesDir = join(cacheDir, "images");
  const name = imageKey(recipe);
  // What made a found entry valid (read once, by the validity check), or what this build wrote.
  let found: Manifest | null = null;
  let built: Manifest | null = null;
  const dir = await cachedBuildDir(imagesDir, name, async (tmp) => {
    log(`building image ${join(imagesDir, name)}`);
    const started = performance.now();
    const { files, facts } = await build(tmp);
    const hashes: Record<string, string> = {};
    for (const file of files) hashes[file] = await sha256File(join(tmp, file));
    built = {
      recipe,
      files: hashes,
      facts,
      builtAt: new Date().toISOString(),
      buildSeconds: (performance.now() - started) / 1000,
    };
    await Deno.writeTextFile(join(tmp, "manifest.json"), JSON.stringify(built, null, 2));
  }, async (candidate) => (found = await readManifest(candidate)) !== null);
  return { dir, manifest: (found ?? built)! };
}

/**
 * Removes a cached image (one a guest could not boot from), so the next run rebuilds it. Other
 * runs still using it keep their open files; a missing dir is fine.
 *
 * @example
 * ```ts ignore
 * import { forgetImage } from "./image.ts";
 * await forgetImage(kernel.dir);
 * ```
 */
export async function forgetImage(dir: string): Promise<void> {
  const doomed = `${dir}.forgotten-${crypto.randomUUID()}`;
  try {
    await Deno.rename(dir, doomed);
  } catch {
    return;
  }
  await Deno.remove(doomed, { recursive: true });
}

/**
 * Makes a symbolic link with ln(1): Deno.symlink needs unscoped file permissions, which
 * `task matrix` does not grant itself.
 *
 * @example
 * ```ts ignore
 * import { symlink } from "./image.ts";
 * await symlink("usr/bin", "/tmp/root/bin");
 * ```
 */
export async function symlink(target: string, path: string): Promise<void> {
  await runCommand(["ln", "-s", target, path]);
}

/**
 * What no guest reads, left out of every root file system (tar patterns, see {@link unpackDebs}):
 * docs, locales, Python, apt's and dpkg's own state, and glibc's iconv modules (nothing in the
 * guest converts character sets).
 */
const UNUSED_IN_GUESTS = [
  "./usr/share/doc",
  "./usr/share/man",
  "./usr/share/info",
  "./usr/share/locale",
  "./usr/share/lintian",
  "./usr/share/zoneinfo",
  "./usr/lib/*/gconv",
  "./usr/lib/python3",
  "./usr/lib/python3.*",
  "./var/cache",
  "./var/lib/apt",
  "./boot",
];

/**
 * Builds (or reuses) the root file system of `recipe`: CRIU and its tools with what they depend
 * on, unpacked (nothing is run, so a foreign arch needs no emulation) without what no guest reads,
 * with merged-/usr links added where the suite lacks them. `indexes` are the run's shared package
 * indexes (else the build fetches its own).
 *
 * @example
 * ```ts ignore
 * import { ensureRootfs } from "./image.ts";
 * import { rootfsRecipe } from "./recipes.ts";
 * const image = await ensureRootfs(rootfsRecipe("bookworm", "x86_64"), "/tmp/cache", console.log);
 * console.log(image.criuPackageVersion); // "3.17.1-2+deb12u2"
 * ```
 */
export async function ensureRootfs(
  recipe: RootfsRecipe,
  cacheDir: string,
  log: (line: string) => void = () => {},
  indexes?: AptIndexes,
): Promise<RootfsImage> {
  const { dir, manifest } = await cachedImage(cacheDir, recipe, async (tmp) => {
    const debs = join(tmp, "debs");
    await withIndexes(indexes, async (indexes) => {
      const state = await indexes.open(recipe.apt.sources, recipe.arch, recipe.apt.options);
      await downloadPackages(state, recipe.packages, debs);
    });
    const criuPackageVersion = recipe.packages.includes("criu")
      ? await debVersion(debs, "criu")
      : "none";
    const root = join(tmp, "root");
    await Deno.mkdir(root);
    await unpackDebs(debs, root, UNUSED_IN_GUESTS);
    await Deno.remove(debs, { recursive: true });
    // trixie and later are merged-/usr, and their packages ship nothing under the top-level links.
    for (const link of ["bin", "sbin", "lib", "lib64"]) {
      if (!(await exists(join(root, link))) && (await exists(join(root, "usr", link)))) {
        await symlink(`usr/${link}`, join(root, link));
      }
    }
    // Kernel modules arrive in a separate cpio under usr/lib/modules, whatever the suite.
    const libModules = join(root, "lib/modules");
    if ((await Deno.lstat(join(root, "lib"))).isDirectory) {
      await Deno.remove(libModules, { recursive: true }).catch(() => {});
      await Deno.mkdir(join(root, "usr/lib"), { recursive: true });
      await symlink("../usr/lib/modules", libModules);
    }
    await packCpio(root, join(tmp, "rootfs.cpio"));
    await Deno.remove(root, { recursive: true });
    return { files: ["rootfs.cpio"], facts: { criuPackageVersion } };
  }, log);
  return {
    recipe,
    dir,
    cpio: join(dir, "rootfs.cpio"),
    criuPackageVersion: manifest.facts.criuPackageVersion,
  };
}

/** Every kernel module file under `dir`, by module name (`-` read as `_`, as modprobe does). */
async function modulesByName(dir: string, prefix = ""): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      for (const [name, file] of await modulesByName(dir, path)) found.set(name, file);
    } else if (/\.ko(\.[a-z0-9]+)?$/.test(entry.name)) {
      found.set(entry.name.replace(/\.ko(\..*)?$/, "").replaceAll("-", "_"), path);
    }
  }
  return found;
}

/**
 * The modules a module needs, from the `depends=` entry of its `.modinfo` section (what depmod
 * writes to modules.dep), read from the uncompressed module.
 *
 * @example
 * ```ts
 * import { moduleDepends } from "./image.ts";
 * const ko = new TextEncoder().encode("\x7fELF...\0license=GPL\0depends=nf_tables,nfnetlink\0");
 * moduleDepends(ko); // ["nf_tables", "nfnetlink"]
 * ```
 */
export function moduleDepends(module: Uint8Array): string[] {
  const text = new TextDecoder("latin1").decode(module);
  const value = text.match(/\0depends=([a-z0-9_,-]*)\0/)?.[1] ?? "";
  return value.split(",").filter(Boolean).map((name) => name.replaceAll("-", "_"));
}

/**
 * Copies into `stagedRelease`, uncompressed, each module of `installed` that `wanted` needs (the
 * wanted ones and what they depend on, read from the modules themselves: no depmod of the whole
 * kernel, which would uncompress thousands of modules). Returns the wanted names this kernel has
 * neither as a module nor built in (kernels merge and drop modules; CRIU's own feature probe then
 * says what it misses, which is a result, not a build error).
 */
async function stageModuleClosure(
  installed: string,
  stagedRelease: string,
  wanted: string[],
): Promise<{ absent: string[] }> {
  const byName = await modulesByName(installed);
  const builtin = await Deno.readTextFile(join(installed, "modules.builtin")).catch(() => "");
  const absent = wanted.filter((name) => !byName.has(name) && !builtin.includes(`/${name}.ko`));
  const staged = new Set<string>();
  let frontier = wanted.filter((name) => byName.has(name));
  while (frontier.length > 0) {
    for (const name of frontier) staged.add(name);
    const depends = await Promise.all(frontier.map(async (name) => {
      const module = byName.get(name)!;
      const target = join(stagedRelease, module.replace(/\.ko\..*$/, ".ko"));
      await Deno.mkdir(join(target, ".."), { recursive: true });
      const decompress = DECOMPRESSORS.find(({ extension }) => module.endsWith(extension));
      await runCommand([
        "sh",
        "-c",
        `${decompress?.command ?? "cat"} "$1" > "$2"`,
        "unpack",
        join(installed, module),
        target,
      ]);
      return moduleDepends(await Deno.readFile(target));
    }));
    frontier = [...new Set(depends.flat())].filter((name) => byName.has(name) && !staged.has(name));
  }
  return { absent };
}

/** Where the parts of an unpacked kernel are. */
export interface UnpackedKernel {
  release: string;
  /** `[usr/]lib/modules` */
  modulesParent: string;
  /** `[usr/]lib/modules/RELEASE` */
  installed: string;
  /** `boot/vmlinuz-RELEASE`, or `[usr/]lib/modules/RELEASE/vmlinuz` (sid's 7.x packages). */
  vmlinuz: string;
}

/**
 * Finds the one kernel unpacked under `root` (`describe` names it in the error if there is not
 * exactly one).
 *
 * @example
 * ```ts ignore
 * import { findUnpackedKernel } from "./image.ts";
 * const { release, vmlinuz } = await findUnpackedKernel("/tmp/root", "linux-image-cloud-amd64");
 * ```
 */
export async function findUnpackedKernel(root: string, describe: string): Promise<UnpackedKernel> {
  const modulesParent = (await exists(join(root, "usr/lib/modules")))
    ? join(root, "usr/lib/modules")
    : join(root, "lib/modules");
  const releases = [];
  for await (const entry of Deno.readDir(modulesParent)) releases.push(entry.name);
  if (releases.length !== 1) {
    throw new InfraError(`expected one kernel in ${describe}, found: ${releases.join(", ")}`);
  }
  const release = releases[0];
  const installed = join(modulesParent, release);
  const vmlinuz = (await exists(join(root, "boot", `vmlinuz-${release}`)))
    ? join(root, "boot", `vmlinuz-${release}`)
    : join(installed, "vmlinuz");
  return { release, modulesParent, installed, vmlinuz };
}

/**
 * Turns an unpacked kernel (see {@link findUnpackedKernel}) into what a guest boots in `out`:
 * `kernel` (in the form QEMU boots fastest, see {@link writeBootKernel}) and a cpio with only the
 * modules `wanted` need, decompressed, with their modules.dep. Returns the kernel's facts.
 */
async function stageKernel(
  root: string,
  out: string,
  wanted: string[],
  describe: string,
): Promise<Record<string, string>> {
  const { release, installed, vmlinuz } = await findUnpackedKernel(root, describe);
  await writeBootKernel(vmlinuz, join(out, "kernel"), out);
  const staged = join(out, "modules");
  const stagedRelease = join(staged, "lib/modules", release);
  await Deno.mkdir(stagedRelease, { recursive: true });
  const modules = await stageModuleClosure(installed, stagedRelease, wanted);
  for (const index of ["modules.builtin", "modules.builtin.modinfo", "modules.order"]) {
    await Deno.copyFile(join(installed, index), join(stagedRelease, index)).catch(() => {});
  }
  await runCommand(["depmod", "-b", staged, release]);
  // The guest finds modules under /usr/lib/modules (the rootfs links /lib/modules there).
  await Deno.mkdir(join(staged, "usr/lib"), { recursive: true });
  await Deno.rename(join(staged, "lib/modules"), join(staged, "usr/lib/modules"));
  await Deno.remove(join(staged, "lib"), { recursive: true });
  await packCpio(staged, join(out, "modules.cpio"));
  await Deno.remove(staged, { recursive: true });
  return { release, absentModules: modules.absent.join(",") };
}

function kernelImage(dir: string, manifest: Manifest): KernelImage {
  return {
    dir,
    bootFile: join(dir, "kernel"),
    modulesCpio: join(dir, "modules.cpio"),
    release: manifest.facts.release,
  };
}

/**
 * Builds (or reuses) the kernel of `recipe`: its Debian kernel packages alone (no dependencies)
 * fetched and unpacked, the kernel in the form QEMU boots fastest and a cpio holding only the
 * modules the guest loads. `indexes` are the run's shared package indexes (else the build
 * fetches its own).
 *
 * @example
 * ```ts ignore
 * import { ensureKernel } from "./image.ts";
 * import { kernelRecipe } from "./recipes.ts";
 * const kernel = await ensureKernel(kernelRecipe("bookworm", "x86_64"), "/tmp/cache", console.log);
 * console.log(kernel.release); // "6.1.0-50-cloud-amd64"
 * ```
 */
export async function ensureKernel(
  recipe: KernelRecipe,
  cacheDir: string,
  log: (line: string) => void = () => {},
  indexes?: AptIndexes,
): Promise<KernelImage> {
  const { dir, manifest } = await cachedImage(cacheDir, recipe, async (tmp) => {
    const root = join(tmp, "root");
    await Deno.mkdir(root);
    const packageVersion = await withIndexes(
      indexes,
      (indexes) => fetchDebianKernel(recipe, indexes, join(tmp, "debs"), root),
    );
    await Deno.remove(join(tmp, "debs"), { recursive: true });
    const facts = await stageKernel(root, tmp, recipe.modules, recipe.package);
    await Deno.remove(root, { recursive: true });
    return { files: ["kernel", "modules.cpio"], facts: { ...facts, packageVersion } };
  }, log);
  return kernelImage(dir, manifest);
}

/**
 * Builds (or reuses) a kernel the user built: the image as is, and from its modules directory
 * (`INSTALL_MOD_PATH` of `make modules_install`, or its `lib/modules/RELEASE`) only the modules
 * the guest loads. Cached by the content of both.
 *
 * @example
 * ```ts ignore
 * import { ensureLocalKernel } from "./image.ts";
 * const kernel = await ensureLocalKernel(
 *   { kind: "local", name: "local-bzImage-0a1b2c3d", arch: "x86_64", image: "bzImage", modules: "mods" },
 *   "/tmp/cache",
 * );
 * console.log(kernel.release);
 * ```
 */
export async function ensureLocalKernel(
  spec: Extract<KernelSpec, { kind: "local" }>,
  cacheDir: string,
  log: (line: string) => void = () => {},
): Promise<KernelImage> {
  const releaseDir = spec.modules === null ? null : await modulesReleaseDir(spec.modules);
  const recipe: LocalKernelRecipe = {
    kind: "kernel",
    format: IMAGE_FORMAT,
    name: spec.name,
    arch: spec.arch,
    content: await localKernelContent(spec.image, releaseDir),
    modules: GUEST_MODULES,
  };
  const { dir, manifest } = await cachedImage(cacheDir, recipe, async (tmp) => {
    const root = join(tmp, "root");
    const release = releaseDir === null ? "none" : basename(releaseDir);
    await Deno.mkdir(join(root, "lib/modules", release), { recursive: true });
    if (releaseDir !== null) {
      await runCommand(["cp", "-a", `${releaseDir}/.`, join(root, "lib/modules", release)]);
    }
    await Deno.copyFile(spec.image, join(root, "lib/modules", release, "vmlinuz"));
    const facts = await stageKernel(root, tmp, recipe.modules, spec.image);
    await Deno.remove(root, { recursive: true });
    return {
      files: ["kernel", "modules.cpio"],
      facts: { ...facts, packageVersion: `local ${spec.image}` },
    };
  }, log);
  return kernelImage(dir, manifest);
}

/** The `RELEASE` directory of a modules tree given as `INSTALL_MOD_PATH` or as itself. */
async function modulesReleaseDir(modules: string): Promise<string> {
  if (await exists(join(modules, "modules.order"))) return modules;
  for (const parent of ["lib/modules", "usr/lib/modules"]) {
    const releases = [];
    for await (
      const entry of (await exists(join(modules, parent)))
        ? Deno.readDir(join(modules, parent))
        : []
    ) {
      if (entry.isDirectory) releases.push(join(modules, parent, entry.name));
    }
    if (releases.length === 1) return releases[0];
  }
  throw new InputError(
    `--kernel ...+${modules}: not a modules directory: expected modules.order in it, or exactly ` +
      `one lib/modules/RELEASE under it (make modules_install INSTALL_MOD_PATH=${modules})`,
  );
}

/**
 * A hash of what a local kernel is made of: the image's bytes and the modules' names, sizes and
 * modification times.
 */
async function localKernelContent(image: string, releaseDir: string | null): Promise<string> {
  const parts = [await sha256File(image)];
  if (releaseDir !== null) {
    const { stdout } = await runCommand(
      ["find", releaseDir, "-type", "f", "-printf", "%P %s %T@\n"],
    );
    parts.push(stdout.split("\n").sort().join("\n"));
  }
  return sha256Hex(parts.join("\n"));
}
