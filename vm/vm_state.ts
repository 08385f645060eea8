/**
 * Saved guest states: a guest booted once to an idle agent (after HELLO and `criu check`) is
 * saved with QEMU migration to a file, and later guests of the same boot start from that file
 * (`-incoming`) in about a second instead of booting for 4 to 20 s under TCG.
 *
 * An entry lives in the build cache (`${cacheDir}/vm-states/<key>/`: `state`, the migration
 * stream, and `facts.json`, what the agent said at HELLO) and is keyed by everything that shapes
 * the guest: the QEMU binary's version and its whole command line, with the kernel and initrd
 * named by their SHA-256 (so a rebuilt image or a changed agent, init or fixture gives another
 * key). Before reuse an entry must hold both files, the state at the size recorded when it was
 * saved; a state QEMU cannot load (a boot from it that fails) is dropped and the guest boots.
 *
 * What differs in a guest started from a saved state, and why no verdict can depend on it:
 * - its clocks go on from the moment of the save: the wall clock is behind the host's, the
 *   monotonic clock and uptime start where the saved guest's stood. The agent and the fixtures
 *   only measure intervals, and no check reads a date;
 * - its kernel's random state is the saved one, so guests started from one state draw the same
 *   random numbers until the kernel reseeds (address-space layouts, for instance, repeat between
 *   runs). No check reads a random value; a CRIU outcome that depended on layout would differ
 *   between boots just the same;
 * - pids go on from the saved guest's, exactly as in a guest just booted (the save is taken at
 *   the same point, before any case). Checks compare pids before and after a dump, never with
 *   fixed values.
 *
 * @module
 */
import { join } from "node:path";
import { type BootSpec, qemuCommand } from "./profiles.ts";
import { cachedBuildDir, exists } from "./build_cache.ts";
import { runCommand } from "../harness/host/exec.ts";
import { sha256File, sha256Hex } from "../harness/host/sha256.ts";
import type { GuestVm } from "./guest_vm.ts";
import type { RecordedCommand } from "../harness/core/types.ts";

/**
 * A usable saved state: the file QEMU loads, the facts its agent gave at HELLO and the commands
 * it ran then (`criu check`, which a repro of a later cell must run too).
 */
export interface SavedVmState {
  dir: string;
  file: string;
  facts: Record<string, string>;
  bootCommands: RecordedCommand[];
}

const qemuVersions = new Map<string, Promise<string>>();
const fileHashes = new Map<string, Promise<string>>();

/**
 * The cache key of the guest a boot spec makes: the QEMU version, and the command line with
 * the per-boot FIFOs left out and the kernel and initrd replaced by their SHA-256.
 *
 * @example
 * ```ts ignore
 * import { vmStateKey } from "./vm_state.ts";
 * const key = await vmStateKey(spec); // "x86_64-1a2b3c4d5e6f7a8b"
 * ```
 */
export async function vmStateKey(spec: BootSpec): Promise<string> {
  const binary = spec.profile.binary;
  if (!qemuVersions.has(binary)) {
    qemuVersions.set(binary, runCommand([binary, "--version"]).then((out) => out.stdout.trim()));
  }
  // Hashed once per version of a file: the same path may be rebuilt while a process runs.
  const hash = async (path: string) => {
    const { mtime, size } = await Deno.stat(path);
    const version = `${path}\0${mtime?.getTime()}\0${size}`;
    if (!fileHashes.has(version)) fileHashes.set(version, sha256File(path));
    return await fileHashes.get(version)!;
  };
  const argv = qemuCommand({
    ...spec,
    kernel: `sha256:${await hash(spec.kernel)}`,
    initrd: `sha256:${await hash(spec.initrd)}`,
    agentPipe: "AGENT",
    monitorPipe: undefined,
    incoming: undefined,
  });
  const key = sha256Hex(JSON.stringify([await qemuVersions.get(binary)!, argv]));
  return `${spec.profile.arch}-${key.slice(0, 16)}`;
}

/**
 * Most saved states kept (about 200 MB each): each new agent, fixture or image makes new ones,
 * so the least recently used go.
 */
export const MAX_VM_STATES = 16;

/**
 * The saved state under `key`, or null when there is none or it is incomplete. A state found is
 * marked as used now (its facts file's time), for {@link MAX_VM_STATES}.
 */
export async function findVmState(cacheDir: string, key: string): Promise<SavedVmState | null> {
  const state = await readEntry(join(cacheDir, "vm-states", key));
  if (state) {
    await Deno.utime(join(state.dir, "facts.json"), new Date(), new Date()).catch(() => {});
  }
  return state;
}

/**
 * Removes the least recently used states under `root` beyond {@link MAX_VM_STATES}.
 *
 * @example
 * ```ts
 * import { pruneVmStates } from "./vm_state.ts";
 * await pruneVmStates(await Deno.makeTempDir()); // nothing to remove
 * ```
 */
export async function pruneVmStates(root: string): Promise<void> {
  const entries: { dir: string; used: number }[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    const dir = join(root, entry.name);
    const used = await Deno.stat(join(dir, "facts.json")).then(
      (s) => s.mtime?.getTime() ?? 0,
      () => 0,
    );
    entries.push({ dir, used });
  }
  const old = entries.toSorted((a, b) => b.used - a.used).slice(MAX_VM_STATES);
  for (const { dir } of old) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

async function readEntry(dir: string): Promise<SavedVmState | null> {
  try {
    const { facts, bytes, bootCommands } = JSON.parse(
      await Deno.readTextFile(join(dir, "facts.json")),
    );
    const file = join(dir, "state");
    if ((await Deno.stat(file)).size !== bytes || typeof facts !== "object") return null;
    if (!Array.isArray(bootCommands)) return null;
    return { dir, file, facts, bootCommands };
  } catch {
    return null;
  }
}

/**
 * Saves `vm` (booted with a monitor, its agent idle after HELLO) as the entry `key`, unless
 * another run saved it first. Resolves to whether the entry exists afterwards.
 */
export async function saveVmState(
  cacheDir: string,
  key: string,
  vm: GuestVm,
  timeoutMs: number,
): Promise<boolean> {
  try {
    const dir = await cachedBuildDir(join(cacheDir, "vm-states"), key, async (tmp) => {
      const file = join(tmp, "state");
      if (!await vm.saveState(file, timeoutMs)) throw new Error("the guest's state was not saved");
      const bytes = (await Deno.stat(file)).size;
      await Deno.writeTextFile(
        join(tmp, "facts.json"),
        JSON.stringify({ facts: vm.facts, bytes, bootCommands: vm.bootCommands }),
      );
    }, async (dir) => await readEntry(dir) !== null);
    await pruneVmStates(join(cacheDir, "vm-states"));
    return await exists(join(dir, "state"));
  } catch {
    return false;
  }
}

/** Drops a saved state that could not be started from, so that the next boot saves it anew. */
export async function forgetVmState(state: SavedVmState): Promise<void> {
  await Deno.remove(state.dir, { recursive: true }).catch(() => {});
}
