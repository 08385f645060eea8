/**
 * The initrd a VM boots: the cached root file system, the kernel's modules and a small overlay
 * holding this checkout's init, agent and fixtures, concatenated (the kernel unpacks each cpio in
 * turn, later files winning).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "../harness/host/exec.ts";

/** The guest scripts of this checkout. */
export const GUEST_DIR = fileURLToPath(new URL("./guest/", import.meta.url));

/**
 * Writes the overlay cpio: `/init`, `/opt/criu-matrix/agent`, every fixture program, and
 * `extraFiles` (guest path relative to `/` → host file).
 *
 * @example
 * ```ts ignore
 * import { buildOverlay } from "./initrd.ts";
 * await buildOverlay({ stopfix: "/cache/fixtures/x86_64/stopfix" }, "/tmp/overlay.cpio");
 * ```
 */
export async function buildOverlay(
  programs: Record<string, string>,
  cpioPath: string,
  extraFiles: Record<string, string> = {},
): Promise<void> {
  const staging = await Deno.makeTempDir({ prefix: "criu-matrix-overlay-" });
  try {
    const bin = join(staging, "opt/criu-matrix");
    await Deno.mkdir(bin, { recursive: true });
    await Deno.copyFile(join(GUEST_DIR, "init"), join(staging, "init"));
    await Deno.copyFile(join(GUEST_DIR, "agent"), join(bin, "agent"));
    for (const [name, path] of Object.entries(programs)) {
      await Deno.copyFile(path, join(bin, name));
    }
    // Executables at other guest paths (a user's criu over the packaged one, zdtm tests).
    for (const [guestPath, path] of Object.entries(extraFiles)) {
      await Deno.mkdir(join(staging, guestPath, ".."), { recursive: true });
      await Deno.copyFile(path, join(staging, guestPath));
      await Deno.chmod(join(staging, guestPath), 0o755);
    }
    for (
      const file of [
        "init",
        "opt/criu-matrix/agent",
        ...Object.keys(programs).map((n) => `opt/criu-matrix/${n}`),
      ]
    ) {
      await Deno.chmod(join(staging, file), 0o755);
    }
    // The same files give the same bytes (and so the same saved guest state, vm/vm_state.ts).
    await clearTimes(staging);
    await packCpio(staging, cpioPath);
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

/** Sets the times of everything under `dir` to the epoch: a cpio records them. */
async function clearTimes(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await clearTimes(path);
    await Deno.utime(path, 0, 0);
  }
}

/**
 * Writes `dir`'s whole tree as a newc cpio owned by root, the format the kernel unpacks.
 *
 * @example
 * ```ts ignore
 * import { packCpio } from "./initrd.ts";
 * await packCpio("/tmp/rootfs", "/tmp/rootfs.cpio");
 * ```
 */
export async function packCpio(dir: string, cpioPath: string): Promise<void> {
  await runCommand([
    "sh",
    "-c",
    'cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet --reproducible -o -H newc -R 0:0 > "$2"',
    "pack",
    dir,
    cpioPath,
  ]);
}

/**
 * Concatenates cpio archives into one initrd file.
 *
 * @example
 * ```ts ignore
 * import { concatenateInitrd } from "./initrd.ts";
 * await concatenateInitrd(["rootfs.cpio", "modules.cpio", "overlay.cpio"], "/tmp/initrd");
 * ```
 */
export async function concatenateInitrd(parts: string[], initrdPath: string): Promise<void> {
  const out = await Deno.open(initrdPath, { write: true, create: true, truncate: true });
  try {
    for (const part of parts) {
      const input = await Deno.open(part);
      await input.readable.pipeTo(out.writable, { preventClose: true });
    }
  } finally {
    out.close();
  }
}
