/**
 * `task repro`'s work: a directory that reproduces one cell without criu-matrix. It holds the
 * cell's kernel and cached initrd parts (hard links, or copies across file systems), the
 * guest's programs (fixtures, the agent as a library of its checks, init), the replay script
 * made from the commands the agent recorded (harness/core/repro_script.ts), a `run.sh` that
 * packs the guest files and boots QEMU as the harness did, and a README.txt.
 *
 * The cell comes from a results file, which is untrusted: every host file it names must be a
 * regular file inside the build cache, and the QEMU command line is made again from the cell's
 * arch, accelerator and CPU model (the one that ran is quoted in the README).
 *
 * @module
 */
import { basename, join, relative, resolve } from "node:path";
import { confineRelativePath, regularFileInside } from "../core/confined_path.ts";
import { escapeControls } from "../core/control_chars.ts";
import { InputError } from "../core/errors.ts";
import { cellKey } from "../core/results.ts";
import { reproScript, shellQuote } from "../core/repro_script.ts";
import type { CellResult } from "../core/types.ts";
import { GUEST_DIR } from "../../vm/initrd.ts";
import { QEMU_PROFILES, qemuCommand } from "../../vm/profiles.ts";
import { safeName } from "./run_vm.ts";

/** Placeholders in the QEMU command line, replaced by files of the repro directory. */
const KERNEL = "@kernel@";
const INITRD = "@initrd@";
const AGENT_PIPE = "@agent@";

/** Links `from` to `to`, or copies it when a link cannot be made (another file system). */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await Deno.link(from, to);
  } catch {
    await Deno.copyFile(from, to);
  }
}

/** The real path of a file the cell names, refused unless a regular file inside the cache. */
function cachedFile(cacheDir: string, path: string, what: string): string {
  // By name first (no file system access for a path outside), then by real path (links).
  const inside = relative(resolve(cacheDir), resolve(path));
  if (confineRelativePath(inside) !== inside) {
    throw new InputError(
      `repro: the cell's ${what} ${path} is not inside the build cache ${cacheDir}; only cached ` +
        "files are copied (a CRIU brought as a binary outside it cannot be reproduced)",
    );
  }
  try {
    return regularFileInside(cacheDir, inside);
  } catch (error) {
    throw new InputError(
      `repro: the cell's ${what} ${path} is gone from the build cache or not a regular file ` +
        `(${(error as Error).message}); run the cell again with task matrix, then repro it`,
    );
  }
}

/**
 * Checks that `cell` can be reproduced (it booted and recorded its commands, and its files are
 * in the cache) before anything is written; resolves to what {@link writeReproDir} copies.
 *
 * @example
 * ```ts ignore
 * import { checkReproducible } from "./repro.ts";
 * const sources = checkReproducible(cell, defaultCacheDir());
 * ```
 */
export function checkReproducible(
  cell: CellResult,
  cacheDir: string,
): { kernel: string; initrdParts: string[]; files: [string, string][] } {
  const id = cellKey(cell);
  if (!cell.boot || !cell.commands || cell.commands.length === 0) {
    throw new InputError(
      `repro: cell ${id} has no record of its guest's commands (it never booted, or it comes ` +
        "from a run made before commands were recorded); run it again with task matrix",
    );
  }
  const { boot } = cell;
  return {
    kernel: cachedFile(cacheDir, boot.kernel, "kernel"),
    initrdParts: boot.initrdParts.map((part) => cachedFile(cacheDir, part, "initrd part")),
    files: Object.entries(boot.files).map(([guestPath, file]) => {
      if (confineRelativePath(guestPath) !== guestPath) {
        throw new InputError(`repro: the cell's guest file ${guestPath} is not a relative path`);
      }
      return [guestPath, cachedFile(cacheDir, file, `guest file ${guestPath}`)];
    }),
  };
}

/** The host script: packs guest/ as a cpio, joins it to the cached parts, boots QEMU. */
function runScript(cell: CellResult, initrdParts: string[]): string {
  const argv = qemuCommand({
    profile: QEMU_PROFILES[cell.arch],
    accel: cell.accel,
    cpu: cell.cpu,
    kernel: KERNEL,
    initrd: INITRD,
    agentPipe: AGENT_PIPE,
    memoryMiB: 1536,
  });
  const words = argv.map((word) =>
    word === KERNEL
      ? '"$here/vmlinuz"'
      : word === INITRD
      ? '"$here/initrd.img"'
      : word === `pipe,id=agent,path=${AGENT_PIPE}`
      ? "null,id=agent"
      : shellQuote(word)
  );
  return [
    "#!/bin/sh",
    `# Boots the guest that replays cell ${cellKey(cell)} (see README.txt): its console,`,
    "# where the replay prints every command and its result, is this script's output.",
    "set -e",
    'here=$(cd "$(dirname "$0")" && pwd)',
    '(cd "$here/guest" && find . -mindepth 1 | LC_ALL=C sort |',
    '  cpio --quiet -o -H newc -R 0:0) >"$here/overlay.cpio"',
    `cat ${initrdParts.map((part) => `"$here/${part}"`).join(" ")} "$here/overlay.cpio" \\`,
    '  >"$here/initrd.img"',
    `exec ${words.join(" ")}`,
    "",
  ].join("\n");
}

function readme(cell: CellResult, initrdParts: string[]): string {
  const binary = QEMU_PROFILES[cell.arch].binary;
  // Every value below comes from the untrusted results file.
  const text = (value: string | null) => escapeControls(value ?? "unknown");
  return `Reproduces one cell of a criu-matrix run, without criu-matrix.

Cell:     ${cellKey(cell)}
CRIU:     ${text(cell.criu.version)} (${text(cell.criu.packageVersion)}), reports ${
    text(cell.criu.reportedVersion)
  }
Kernel:   ${text(cell.kernel.name)} ${text(cell.kernel.version)}
Arch/CPU: ${cell.arch}, QEMU CPU ${text(cell.cpu)}, ${cell.accel}
Verdict:  ${cell.verdict}${cell.stage ? ` at ${cell.stage}` : ""}: ${text(cell.summary)}

Run it (needs ${binary} and cpio; takes about as long as the cell plus a boot):

    sh run.sh

run.sh packs guest/ into overlay.cpio, appends it to ${initrdParts.join(" and ")}
(the root file system with CRIU, and the kernel's modules) as initrd.img, and boots vmlinuz
in QEMU with no network and the console on its output. The guest's init sees /repro/run.sh
and runs it instead of criu-matrix's agent, then powers off.

guest/repro/run.sh is the replay: the commands criu-matrix's agent ran for this cell, in
order, as it recorded them (the fixture's start, how it was stopped, CRIU with its options,
the checks and waits), with the run's pids replaced by those of the replay's tree. Each
command is announced ("criu-matrix-repro: $ ...") and followed by its exit status, its
output, and for CRIU the "Error (" lines of its log. The checks (snapshot, resume_and_finish,
wait_for...) are functions of guest/opt/criu-matrix/agent, sourced by the replay; their
observations print as "none CELL KV phase key value". Edit guest/ (e.g. add criu options)
and run run.sh again.

The replay boots a fresh guest, as the run did for this cell (its guest started from a state
saved right after boot, and no other cell ran in it); only the boot's own commands (its "criu
check", which leaves CRIU's kernel feature cache in /run) are replayed before the cell's.

The fixture programs are in guest/opt/criu-matrix/ (sources: criu-matrix's fixtures/).
With accel kvm the guest needs /dev/kvm; change "-accel kvm -cpu host" to "-accel tcg"
in run.sh otherwise.

QEMU as the run started it (its initrd and agent FIFOs were temporary):
${(cell.boot?.qemu ?? []).map((word) => `    ${text(word)}`).join("\n")}
`;
}

/**
 * Writes the repro directory `outDir` (it must not exist; {@link checkReproducible} first).
 *
 * @example
 * ```ts ignore
 * import { writeReproDir } from "./repro.ts";
 * await writeReproDir(cell, checkReproducible(cell, cacheDir), "/tmp/repro-sigttin");
 * ```
 */
export async function writeReproDir(
  cell: CellResult,
  sources: ReturnType<typeof checkReproducible>,
  outDir: string,
): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  await linkOrCopy(sources.kernel, join(outDir, "vmlinuz"));
  const parts = sources.initrdParts.map((part, index) => `initrd-${index + 1}-${basename(part)}`);
  for (const [index, part] of sources.initrdParts.entries()) {
    await linkOrCopy(part, join(outDir, parts[index]));
  }
  const guest = join(outDir, "guest");
  const executables: [string, string][] = [
    ["init", join(GUEST_DIR, "init")],
    ["opt/criu-matrix/agent", join(GUEST_DIR, "agent")],
    ...sources.files,
  ];
  for (const [guestPath, file] of executables) {
    await Deno.mkdir(join(guest, guestPath, ".."), { recursive: true });
    await Deno.copyFile(file, join(guest, guestPath));
    await Deno.chmod(join(guest, guestPath), 0o755);
  }
  await Deno.mkdir(join(guest, "repro"), { recursive: true });
  const script = reproScript({
    id: cellKey(cell),
    cell: safeName(cell.case).toLowerCase(),
    outcome: `${cell.verdict}${cell.stage ? ` at ${cell.stage}` : ""}`,
    commands: cell.commands ?? [],
    zdtm: (cell.commands ?? []).some((command) => / zdtm=(?!none)/.test(` ${command.command}`)),
  });
  await Deno.writeTextFile(join(guest, "repro/run.sh"), script, { mode: 0o755 });
  await Deno.chmod(join(guest, "repro/run.sh"), 0o755);
  await Deno.writeTextFile(join(outDir, "run.sh"), runScript(cell, parts), { mode: 0o755 });
  await Deno.writeTextFile(join(outDir, "README.txt"), readme(cell, parts));
}
