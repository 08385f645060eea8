/**
 * Image recipes: what goes into a guest, as data. A recipe's JSON is hashed into its cache key,
 * so changing anything here rebuilds exactly the images it describes.
 *
 * @module
 */
import type { Arch, DebianSuite, KernelSuite } from "../harness/core/types.ts";
import { DEBIAN_ARCH } from "../harness/core/catalog.ts";

/** Where Debian packages come from (the only archive reachable from CI machines). */
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";

/** Where Debian's security updates come from. */
const DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security";

/** Bump when the way a recipe is turned into files changes (trimming, layout, cpio format). */
export const IMAGE_FORMAT = 5;

/** The user space of a guest: CRIU from one suite, plus the few tools the init and agent use. */
export interface RootfsRecipe {
  kind: "rootfs";
  format: number;
  suite: DebianSuite;
  arch: Arch;
  /** Installed with what they depend on (not what they only recommend); nothing is run. */
  packages: string[];
  /** apt source lines, and apt options (`Name=value`) on top of the harness's own. */
  apt: { sources: string[]; options: string[] };
}

/**
 * A Debian cloud kernel and the modules CRIU needs: the kernel packages of `package` (fetched with
 * apt from `sources`, without installing anything) are unpacked, and only the modules kept.
 */
export interface KernelRecipe {
  kind: "kernel";
  format: number;
  /** The kernel's axis value: a suite, or the package version asked for. */
  name: string;
  arch: Arch;
  /** An apt package request: `linux-image-cloud-amd64`, or with `=VERSION`. */
  package: string;
  /** apt source lines to look in. */
  sources: string[];
  modules: string[];
}

/** A kernel the user built, as the cache knows it: its arch and a hash of what it is made of. */
export interface LocalKernelRecipe {
  kind: "kernel";
  format: number;
  /** The kernel's axis value, `local-...`. */
  name: string;
  arch: Arch;
  /** SHA-256 over the image and the modules' names, sizes and times. */
  content: string;
  modules: string[];
}

/**
 * Modules loaded at boot: CRIU's kernel feature detection needs the socket diag modules, tun and
 * nf_tables; the agent's channel needs virtio-serial.
 */
export const GUEST_MODULES = [
  "virtio_pci",
  "virtio_mmio",
  "virtio_console",
  "netlink_diag",
  "af_packet_diag",
  "unix_diag",
  "inet_diag",
  "tcp_diag",
  "udp_diag",
  "tun",
  "nfnetlink",
  "nf_tables",
];

function sourcesFor(suite: DebianSuite): RootfsRecipe["apt"] {
  switch (suite) {
    case "experimental":
      // experimental is not a whole suite: sid plus experimental, preferring experimental.
      return {
        sources: [`deb ${DEBIAN_MIRROR} sid main`, `deb ${DEBIAN_MIRROR} experimental main`],
        options: ["APT::Default-Release=experimental"],
      };
    default:
      return { sources: [`deb ${DEBIAN_MIRROR} ${suite} main`], options: [] };
  }
}

/**
 * The root file system recipe for CRIU of `suite` on `arch`.
 *
 * @example
 * ```ts
 * import { rootfsRecipe } from "./recipes.ts";
 * console.log(rootfsRecipe("bookworm", "x86_64").packages.includes("criu")); // true
 * ```
 */
export function rootfsRecipe(
  suite: DebianSuite,
  arch: Arch,
  extraPackages: readonly string[] = [],
): RootfsRecipe {
  return {
    kind: "rootfs",
    format: IMAGE_FORMAT,
    suite,
    arch,
    // A CRIU brought by the user replaces the packaged one and may need more libraries; a suite
    // without a CRIU package (bullseye) only ever runs one brought by the user.
    packages: [
      ...(suite === "bullseye" ? [] : ["criu"]),
      "busybox-static",
      "kmod",
      "iproute2",
      "iptables",
      ...extraPackages,
    ],
    apt: sourcesFor(suite),
  };
}

/**
 * The kernel recipe: the cloud kernel of `suite` on `arch`.
 *
 * @example
 * ```ts
 * import { kernelRecipe } from "./recipes.ts";
 * console.log(kernelRecipe("trixie", "aarch64").package); // "linux-image-cloud-arm64"
 * ```
 */
export function kernelRecipe(suite: KernelSuite, arch: Arch): KernelRecipe {
  return {
    kind: "kernel",
    format: IMAGE_FORMAT,
    name: suite,
    arch,
    package: `linux-image-cloud-${DEBIAN_ARCH[arch]}`,
    // Only the suite itself: apt fetches the kernel packages alone, never resolving what they need.
    sources: [`deb ${DEBIAN_MIRROR} ${suite} main`],
    modules: GUEST_MODULES,
  };
}

/** Every suite a Debian kernel package version can come from, security updates included. */
const EVERY_KERNEL_SOURCE = [
  ...[
    "bookworm",
    "bookworm-updates",
    "bookworm-backports",
    "trixie",
    "trixie-updates",
    "trixie-backports",
    "sid",
    "experimental",
  ].map((suite) => `deb ${DEBIAN_MIRROR} ${suite} main`),
  ...["bookworm-security", "trixie-security"]
    .map((suite) => `deb ${DEBIAN_SECURITY_MIRROR} ${suite} main`),
];

/**
 * The kernel recipe of one Debian cloud kernel package version (e.g. `6.1.176-1`), from whichever
 * suite serves it.
 *
 * @example
 * ```ts
 * import { kernelPackageRecipe } from "./recipes.ts";
 * console.log(kernelPackageRecipe("6.1.176-1", "x86_64").package);
 * // "linux-image-cloud-amd64=6.1.176-1"
 * ```
 */
export function kernelPackageRecipe(version: string, arch: Arch): KernelRecipe {
  return {
    kind: "kernel",
    format: IMAGE_FORMAT,
    name: version,
    arch,
    package: `linux-image-cloud-${DEBIAN_ARCH[arch]}=${version}`,
    sources: EVERY_KERNEL_SOURCE,
    modules: GUEST_MODULES,
  };
}
