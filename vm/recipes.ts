/**
 * Image recipes: what goes into a guest, as data. A recipe's JSON is hashed into its cache key,
 * so changing anything here rebuilds exactly the images it describes.
 *
 * @module
 */
import type { Arch, DebianSuite, KernelSuite } from "../harness/types.ts";

/** Where Debian packages come from (the only archive reachable from CI machines). */
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";

/** Bump when the way a recipe is turned into files changes (trimming, layout, cpio format). */
export const IMAGE_FORMAT = 4;

/** Debian's name for each guest arch. */
export const DEBIAN_ARCH: Record<Arch, string> = { x86_64: "amd64", aarch64: "arm64" };

/** The user space of a guest: CRIU from one suite, plus the few tools the init and agent use. */
export interface RootfsRecipe {
  kind: "rootfs";
  format: number;
  suite: DebianSuite;
  arch: Arch;
  packages: string[];
  /** mmdebstrap's suite argument, its package sources and apt options. */
  mmdebstrap: { suite: string; sources: string[]; aptOptions: string[] };
}

/** A kernel and the modules CRIU needs, from one suite's cloud kernel package. */
export interface KernelRecipe {
  kind: "kernel";
  format: number;
  suite: KernelSuite;
  arch: Arch;
  packages: string[];
  modules: string[];
  mmdebstrap: { suite: string; sources: string[]; aptOptions: string[] };
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

// The sid archive seen from CI machines has served an expired Release file.
const IGNORE_EXPIRY = 'Acquire::Check-Valid-Until "false"';

function sourcesFor(suite: DebianSuite | KernelSuite): RootfsRecipe["mmdebstrap"] {
  switch (suite) {
    case "experimental":
      // experimental is not a whole suite: sid plus experimental, preferring experimental.
      return {
        suite: "sid",
        sources: [`deb ${DEBIAN_MIRROR} sid main`, `deb ${DEBIAN_MIRROR} experimental main`],
        aptOptions: [IGNORE_EXPIRY, 'APT::Default-Release "experimental"'],
      };
    case "bookworm-backports":
      return {
        suite: "bookworm",
        sources: [
          `deb ${DEBIAN_MIRROR} bookworm main`,
          `deb ${DEBIAN_MIRROR} bookworm-backports main`,
        ],
        aptOptions: [IGNORE_EXPIRY, 'APT::Default-Release "bookworm-backports"'],
      };
    default:
      return {
        suite,
        sources: [`deb ${DEBIAN_MIRROR} ${suite} main`],
        aptOptions: [IGNORE_EXPIRY],
      };
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
    // A CRIU brought by the user replaces the packaged one and may need more libraries.
    packages: ["criu", "busybox-static", "kmod", "iproute2", "iptables", ...extraPackages],
    mmdebstrap: sourcesFor(suite),
  };
}

/**
 * The kernel recipe: the cloud kernel of `suite` on `arch`.
 *
 * @example
 * ```ts
 * import { kernelRecipe } from "./recipes.ts";
 * console.log(kernelRecipe("trixie", "aarch64").packages); // ["linux-image-cloud-arm64"]
 * ```
 */
export function kernelRecipe(suite: KernelSuite, arch: Arch): KernelRecipe {
  return {
    kind: "kernel",
    format: IMAGE_FORMAT,
    suite,
    arch,
    packages: [`linux-image-cloud-${DEBIAN_ARCH[arch]}`],
    modules: GUEST_MODULES,
    mmdebstrap: sourcesFor(suite),
  };
}
