/**
 * The host programs a run needs, and the Debian packages that bring them. Missing ones are
 * installed with apt when running as root (saying so), else the user gets the exact command.
 *
 * @module
 */
import { runCommand } from "./exec.ts";
import { withHostPackageLock } from "./package_lock.ts";
import { InputError } from "../core/errors.ts";
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
 * Makes sure every tool for `arches` (and `extra`) is there: installs missing packages with apt as root, or
 * throws a {@link InputError} with the `apt-get install` line to run.
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
): Promise<void> {
  const findMissing = async () => {
    const missing: string[] = [];
    for (const tool of [...requiredHostTools(arches), ...extra]) {
      if (!(await present(tool.program)) && !missing.includes(tool.debianPackage)) {
        missing.push(tool.debianPackage);
      }
    }
    return missing;
  };
  const first = await findMissing();
  if (first.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new InputError(
      `missing host packages: ${first.join(", ")}. Install them as root, then run again:\n` +
        `  sudo apt-get update && sudo apt-get install -y ${first.join(" ")}`,
    );
  }
  await withHostPackageLock(async () => {
    const missing = await findMissing();
    if (missing.length === 0) return;
    log(`installing missing host packages: ${missing.join(" ")}`);
    await runCommand(["apt-get", "update", "-q"]);
    await runCommand(["apt-get", "install", "-y", "-q", ...missing], {
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
  });
}
