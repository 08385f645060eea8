/**
 * The host programs a run needs, and the Debian packages that bring them. Missing ones are
 * installed with apt when running as root or with passwordless sudo (saying so), else the user
 * gets the exact commands.
 *
 * Deno resolves each `--allow-run` name to a path once, at start-up: a program installed later is
 * refused for the rest of the process. So a task with narrow permissions that had to install
 * something runs again in a fresh process ({@link ensureHostToolsForTask}), which finds them.
 *
 * @module
 */
import { runDenoTask } from "./deno_task.ts";
import { runAsRoot } from "./as_root.ts";
import { runCommand } from "./exec.ts";
import type { Arch } from "../core/types.ts";

/** A program and the Debian package that provides it. */
export interface HostTool {
  program: string;
  debianPackage: string;
}

const COMMON: HostTool[] = [
  { program: "depmod", debianPackage: "kmod" },
  // Packages are fetched with apt and checked against Debian's archive keys.
  {
    program: "/usr/share/keyrings/debian-archive-keyring.gpg",
    debianPackage: "debian-archive-keyring",
  },
  { program: "cpio", debianPackage: "cpio" },
  { program: "xz", debianPackage: "xz-utils" },
  { program: "zstd", debianPackage: "zstd" },
  { program: "gcc", debianPackage: "gcc" },
  { program: "/usr/lib/x86_64-linux-gnu/libc.a", debianPackage: "libc6-dev" },
];

const PER_ARCH: Record<Arch, HostTool[]> = {
  x86_64: [
    { program: "qemu-system-x86_64", debianPackage: "qemu-system-x86" },
    // bookworm's kernels are lz4-compressed; the PVH boot kernel is unpacked from them.
    { program: "lz4", debianPackage: "lz4" },
  ],
  aarch64: [
    { program: "qemu-system-aarch64", debianPackage: "qemu-system-arm" },
    { program: "aarch64-linux-gnu-gcc", debianPackage: "gcc-aarch64-linux-gnu" },
    { program: "/usr/aarch64-linux-gnu/lib/libc.a", debianPackage: "libc6-dev-arm64-cross" },
  ],
};

/**
 * The host tools a run on `arches` needs.
 *
 * @example
 * ```ts
 * import { requiredHostTools } from "./host_tools.ts";
 * console.log(requiredHostTools(["aarch64"]).some((t) => t.debianPackage === "qemu-system-arm")); // true
 * ```
 */
export function requiredHostTools(arches: readonly Arch[]): HostTool[] {
  return [...COMMON, ...arches.flatMap((arch) => PER_ARCH[arch])];
}

async function present(program: string): Promise<boolean> {
  // A file is tested by sh, not Deno.stat: task matrix may not read /usr, so stat would fail
  // and the package would be "installed" again on every run.
  const test = program.startsWith("/") ? 'test -e "$1"' : 'command -v "$1"';
  const found = await runCommand(["sh", "-c", test, "present", program], { allowFailure: true });
  return found.code === 0;
}

/**
 * Makes sure every tool for `arches` (and `extra`) is there: installs missing packages with apt as
 * root or through passwordless sudo, else throws an `InputError` with the `apt-get` lines to run
 * (see `runAsRoot`). Resolves to true when it installed something.
 *
 * @example
 * ```ts ignore
 * import { ensureHostTools } from "./host_tools.ts";
 * await ensureHostTools(["x86_64", "aarch64"], console.log);
 * ```
 */
export async function ensureHostTools(
  arches: readonly Arch[],
  log: (line: string) => void,
  extra: readonly HostTool[] = [],
): Promise<boolean> {
  const missing: string[] = [];
  for (const tool of [...requiredHostTools(arches), ...extra]) {
    if (!(await present(tool.program)) && !missing.includes(tool.debianPackage)) {
      missing.push(tool.debianPackage);
    }
  }
  if (missing.length === 0) return false;
  await runAsRoot([["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", ...missing]], {
    doing: `installing missing host packages: ${missing.join(" ")}`,
    refused: `missing host packages: ${missing.join(", ")}. Install them as root, then run again`,
  }, log);
  return true;
}

/**
 * {@link ensureHostTools} for the deno.json task `task` (`matrix`, `bisect`) started with `args`.
 * When it installed something and this process may start only the programs it named at start-up
 * (which Deno looked up before they existed), the task runs again in a fresh process, with the
 * same arguments and the task's own permissions, and this resolves to that run's exit status;
 * null means go on in this process.
 *
 * @example
 * ```ts ignore
 * import { ensureHostToolsForTask } from "./host_tools.ts";
 * const rerun = await ensureHostToolsForTask("matrix", Deno.args.slice(1), ["x86_64"], console.log);
 * if (rerun !== null) Deno.exit(rerun);
 * ```
 */
export async function ensureHostToolsForTask(
  task: string,
  args: readonly string[],
  arches: readonly Arch[],
  log: (line: string) => void,
): Promise<number | null> {
  if (!await ensureHostTools(arches, log)) return null;
  if ((await Deno.permissions.query({ name: "run" })).state === "granted") return null;
  log(`installed; running deno task ${task} again, in a process that can start what was installed`);
  return await runDenoTask(task, args);
}
