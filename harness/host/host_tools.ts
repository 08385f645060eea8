/**
 * The host programs a run needs and the packages a CRIU build needs, and the one place that
 * installs missing Debian packages: with apt when running as root or with passwordless sudo
 * (saying so), else the user gets the exact commands.
 *
 * Deno resolves each `--allow-run` name to a path once, at start-up: a program installed later is
 * refused for the rest of the process. So a task with narrow permissions that had to install
 * something runs again in a fresh process ({@link ensureHostToolsForTask}), which finds them.
 *
 * @module
 */
import { runDenoTask } from "./deno_task.ts";
import { rootPrefix } from "./as_root.ts";
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
 * Installs what `findMissing` finds missing with apt (after `before`, e.g. enabling a foreign
 * architecture) as root or through passwordless sudo, saying so and why; when this process cannot
 * become root, throws an {@link InfraError} with the exact commands to run. The one place host
 * packages are installed: the install holds the host package lock (one apt at a time across
 * builds and processes) and looks again under it, since another holder may just have installed
 * the same packages. `apt` holds options for `apt-get install`. Resolves to true when it
 * installed something.
 */
async function installPackages(
  findMissing: () => Promise<string[]>,
  why: string,
  log: (line: string) => void,
  before: readonly string[][] = [],
  apt: readonly string[] = [],
): Promise<boolean> {
  const commandsFor = (missing: readonly string[]) => [
    ...before,
    ["apt-get", "update", "-q"],
    ["apt-get", "install", "-y", "-q", ...apt, ...missing],
  ];
  const first = await findMissing();
  if (first.length === 0) return false;
  const prefix = await rootPrefix();
  if (prefix === null) {
    throw new InfraError(
      `missing host packages ${why}: ${first.join(", ")}. Install them as root, then run ` +
        `again:\n${commandsFor(first).map((command) => `  sudo ${command.join(" ")}`).join("\n")}`,
    );
  }
  const through = prefix.length === 0 ? "" : " (as root through passwordless sudo)";
  return await withHostPackageLock(async () => {
    const missing = await findMissing();
    if (missing.length === 0) return false;
    log(`installing missing host packages ${why}: ${missing.join(" ")}${through}`);
    for (const command of commandsFor(missing)) {
      // apt must never ask. sudo resets the environment: `env` (started by sudo, so not in the
      // task's --allow-run) sets it again.
      await runCommand(
        prefix.length === 0
          ? command
          : [...prefix, "env", "DEBIAN_FRONTEND=noninteractive", ...command],
        { env: { DEBIAN_FRONTEND: "noninteractive" } },
      );
    }
    return true;
  });
}

/**
 * Makes sure every tool for `arches` (and `extra`) is there: installs missing packages with apt
 * as root or through passwordless sudo, or throws an {@link InfraError} with the commands to run.
 * Resolves to true when it installed something.
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
  const findMissing = async () => {
    const missing: string[] = [];
    for (const tool of [...requiredHostTools(arches), ...extra]) {
      if (!(await present(tool.program)) && !missing.includes(tool.debianPackage)) {
        missing.push(tool.debianPackage);
      }
    }
    return missing;
  };
  // QEMU's recommends bring a GUI (qemu-system-gui: GTK, SDL, Mesa) and firmware the run never
  // uses: most of the 375 packages a fresh bookworm machine installed for x86_64 with them.
  return await installPackages(findMissing, `for ${arches.join(", ")}`, log, [], [
    "--no-install-recommends",
  ]);
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
  // libnet1-dev is not multiarch: the arm64 link uses libnet1:arm64's library directly. From 4.2
  // on, images/Makefile finds descriptor.proto through `pkg-config protobuf`, which a cross build
  // asks for arm64's .pc files, as Debian's own cross build would: libprotobuf-dev:arm64.
  return [
    ...tools,
    ...headers,
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "libnet1:arm64",
    ...[...libs, "libprotobuf-dev"].map((p) => `${p}:arm64`),
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
 * {@link ensureHostTools} for the deno.json task `task` (`matrix`, `bisect`) started with `args`,
 * and {@link ensureCriuBuildDeps} for each arch of `criuBuildArches` (where the task builds CRIU
 * from source). When it installed something and this process may start only the programs it named at start-up
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
  criuBuildArches: readonly Arch[] = [],
): Promise<number | null> {
  let installedAny = await ensureHostTools(arches, log);
  for (const arch of criuBuildArches) {
    installedAny = await ensureCriuBuildDeps(arch, log) || installedAny;
  }
  if (!installedAny) return null;
  if ((await Deno.permissions.query({ name: "run" })).state === "granted") return null;
  log(`installed; running deno task ${task} again, in a process that can start what was installed`);
  return await runDenoTask(task, args);
}

/**
 * Makes sure the host can build CRIU for `arch`, on the host or in an older era's root (made with
 * mmdebstrap): installs missing Debian packages with apt when running as root (saying so; for
 * aarch64 it first enables the arm64 architecture), else throws a {@link InfraError} with the
 * exact commands to run. Resolves to true when it installed something.
 *
 * @example
 * ```ts ignore
 * import { ensureCriuBuildDeps } from "./host_tools.ts";
 * await ensureCriuBuildDeps("aarch64", console.log);
 * ```
 */
export async function ensureCriuBuildDeps(
  arch: Arch,
  log: (line: string) => void,
): Promise<boolean> {
  const findMissing = async () => {
    const missing = [];
    // mmdebstrap makes the era roots; protoc generates the image code from CRIU 4.2 on (earlier
    // releases use protoc-c), which builds with the host's toolchain only.
    for (const pkg of [...criuBuildPackages(arch), "mmdebstrap", "protobuf-compiler"]) {
      if (!(await installed(pkg))) missing.push(pkg);
    }
    return missing;
  };
  const foreign = arch === "aarch64" &&
    !(await runCommand(["dpkg", "--print-foreign-architectures"])).stdout.split("\n").includes(
      "arm64",
    );
  return await installPackages(
    findMissing,
    `to build CRIU for ${arch}`,
    log,
    foreign ? [["dpkg", "--add-architecture", "arm64"]] : [],
  );
}
