/**
 * The host programs a run needs and the packages a CRIU build needs, and the one place that
 * installs missing Debian packages: with apt when running as root (saying so), else the user
 * gets the exact commands.
 *
 * @module
 */
import { runCommand } from "./exec.ts";
import { withHostPackageLock } from "./package_lock.ts";
import { DEBIAN_ARCH } from "../core/catalog.ts";
import { InfraError } from "../core/errors.ts";
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
 * Installs what `findMissing` finds missing with apt (after `before`, e.g. adding an arch) when
 * running as root, else throws an {@link InfraError} with the commands to run. The install holds
 * the host package lock (one apt at a time across builds and processes) and looks again under
 * it: another holder may just have installed the same packages.
 */
async function installPackages(
  findMissing: () => Promise<string[]>,
  why: string,
  log: (line: string) => void,
  before: readonly string[][] = [],
): Promise<void> {
  const commandsFor = (missing: readonly string[]) => [
    ...before,
    ["apt-get", "update", "-q"],
    ["apt-get", "install", "-y", "-q", ...missing],
  ];
  const first = await findMissing();
  if (first.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new InfraError(
      `missing host packages ${why}: ${first.join(", ")}. Install them as root, then run ` +
        `again:\n${commandsFor(first).map((command) => `  sudo ${command.join(" ")}`).join("\n")}`,
    );
  }
  await withHostPackageLock(async () => {
    const missing = await findMissing();
    if (missing.length === 0) return;
    log(`installing missing host packages ${why}: ${missing.join(" ")}`);
    for (const command of commandsFor(missing)) {
      await runCommand(command, { env: { DEBIAN_FRONTEND: "noninteractive" } });
    }
  });
}

/**
 * Makes sure every tool for `arches` (and `extra`) is there: installs missing packages with apt
 * as root, or throws an {@link InfraError} with the commands to run.
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
  await installPackages(findMissing, `for ${arches.join(", ")}`, log);
}

/**
 * The host packages a CRIU build for `arch` needs: native ones, and `:arm64` ones for aarch64.
 *
 * @example
 * ```ts
 * import { criuBuildPackages } from "./host_tools.ts";
 * criuBuildPackages("aarch64").includes("libprotobuf-c-dev:arm64"); // true
 * ```
 */
export function criuBuildPackages(arch: Arch): string[] {
  const tools = ["make", "gcc", "pkg-config", "patch", "binutils", "protobuf-c-compiler", "ccache"];
  // descriptor.proto (arch-independent) and the libnet headers come from the native packages.
  const headers = ["libprotobuf-dev", "libnet1-dev"];
  const libs = ["libprotobuf-c-dev", "libnl-3-dev", "libcap-dev", "uuid-dev"];
  if (arch === "x86_64") return [...tools, ...headers, ...libs];
  // libnet1-dev is not multiarch: the arm64 link uses libnet1:arm64's library directly.
  return [
    ...tools,
    ...headers,
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "libnet1:arm64",
    ...libs.map((p) => `${p}:arm64`),
  ];
}

async function installed(pkg: string): Promise<boolean> {
  // A multiarch library may be installed for several archs: an unqualified name means the host's.
  const { stdout } = await runCommand(
    ["dpkg-query", "-W", "-f=${Architecture} ${db:Status-Status}\\n", pkg],
    { allowFailure: true },
  );
  const wanted = pkg.includes(":") ? [pkg.split(":")[1]] : [DEBIAN_ARCH.x86_64, "all"];
  return stdout.split("\n").some((line) => {
    const [arch, status] = line.split(" ");
    return wanted.includes(arch) && status === "installed";
  });
}

/**
 * Makes sure the host can build CRIU for `arch`: installs missing Debian packages with apt when
 * running as root (saying so; for aarch64 it first enables the arm64 architecture), else throws a
 * {@link InfraError} with the exact commands to run.
 *
 * @example
 * ```ts ignore
 * import { ensureCriuBuildDeps } from "./host_tools.ts";
 * await ensureCriuBuildDeps("aarch64", console.log);
 * ```
 */
export async function ensureCriuBuildDeps(arch: Arch, log: (line: string) => void): Promise<void> {
  const findMissing = async () => {
    const missing = [];
    for (const pkg of criuBuildPackages(arch)) if (!(await installed(pkg))) missing.push(pkg);
    return missing;
  };
  const foreign = arch === "aarch64" &&
    !(await runCommand(["dpkg", "--print-foreign-architectures"])).stdout.split("\n").includes(
      "arm64",
    );
  await installPackages(
    findMissing,
    `to build CRIU for ${arch}`,
    log,
    foreign ? [["dpkg", "--add-architecture", "arm64"]] : [],
  );
}
