/**
 * What criu-matrix knows how to test: the guest arches, the CRIU packages, the kernels and
 * the QEMU CPU models. Options are validated against this catalog and plans are built from it.
 *
 * @module
 */

import {
  type Arch,
  type CriuSpec,
  type DebianSuite,
  KERNEL_SUITES,
  type KernelSuite,
} from "./types.ts";

/** Debian's name for each guest arch. */
export const DEBIAN_ARCH: Readonly<Record<Arch, string>> = { x86_64: "amd64", aarch64: "arm64" };

/** The CRIU packages, oldest first: plans and reports list them in this order. */
export const CRIU_VERSIONS: readonly CriuSpec[] = [
  { version: "3.17.1", suite: "bookworm", packageVersion: "3.17.1-2+deb12u2" },
  { version: "4.1.1", suite: "trixie", packageVersion: "4.1.1-1" },
  { version: "4.2.1", suite: "sid", packageVersion: "4.2.1-1" },
  { version: "4.3", suite: "experimental", packageVersion: "4.3-1~exp2" },
];

/** The kernel suites with the kernel series each ships, oldest first. */
export const KERNEL_SERIES: Readonly<Record<KernelSuite, string>> = {
  "bullseye": "5.10",
  "bookworm": "6.1",
  "bookworm-backports": "6.12",
  "trixie": "6.12",
  "sid": "7.x",
};

/**
 * Orders kernel axis values (a cell's `kernel.name`): Debian suites in catalog order first, then
 * package versions and local kernels by name.
 *
 * @example
 * ```ts
 * import { compareKernelNames } from "./catalog.ts";
 * ["6.1.176-1", "sid", "bookworm"].sort(compareKernelNames); // ["bookworm", "sid", "6.1.176-1"]
 * ```
 */
export function compareKernelNames(a: string, b: string): number {
  const suites: readonly string[] = KERNEL_SUITES;
  return rankIn(suites, a) - rankIn(suites, b) || a.localeCompare(b);
}

/**
 * Position of `item` in a catalog list; items missing from it sort after every listed one.
 *
 * @example
 * ```ts
 * import { ARCHES } from "./types.ts";
 * import { rankIn } from "./catalog.ts";
 * rankIn(ARCHES, "aarch64"); // 1
 * ```
 */
export function rankIn<T>(list: readonly T[], item: T): number {
  const index = list.indexOf(item);
  return index === -1 ? list.length : index;
}

/**
 * The kernel series a kernel axis value is expected to run, when that is known before it boots.
 *
 * @example
 * ```ts
 * import { expectedKernelSeries } from "./catalog.ts";
 * expectedKernelSeries("trixie"); // "6.12"
 * expectedKernelSeries("local-bzImage-0a1b2c3d"); // null
 * ```
 */
export function expectedKernelSeries(name: string): string | null {
  return (KERNEL_SERIES as Readonly<Record<string, string>>)[name] ?? null;
}

/**
 * The kernel each CRIU suite is released against. Experimental has no kernel of its own;
 * its packages are built against sid.
 */
const NATIVE_KERNEL: Readonly<Record<DebianSuite, KernelSuite>> = {
  bullseye: "bullseye",
  bookworm: "bookworm",
  trixie: "trixie",
  sid: "sid",
  experimental: "sid",
};

/**
 * The QEMU CPU models known to work for an arch: the matrix runs every model of `matrix` unless
 * `--cpu` says otherwise; a bisect, which tests one cell, runs `default` (the first of them).
 */
export interface CpuModels {
  default: string;
  /** The models of the default matrix, with their properties; one VM each. */
  matrix: readonly string[];
  /**
   * CRIU versions (a version range) the default matrix does not run on a model, and why: only
   * when the arch's models are the default ones; naming the model with `--cpu` runs them.
   */
  matrixSkips: readonly { model: string; criu: string; reason: string }[];
  /** Base model names (before any `,property=value` suffix), default included. */
  accepted: readonly string[];
}

/**
 * CPU models per arch. On aarch64 `neoverse-n1` is the default because plain `max` emulates
 * pointer authentication with the slow QARMA5 algorithm; beside it the matrix runs
 * `max,pauth-impdef=on`, a CPU with pointer authentication and BTI as current ARM servers and
 * laptops have them (QEMU's cheap implementation-defined PAC algorithm, about as fast).
 */
export const CPU_MODELS: Readonly<Record<Arch, CpuModels>> = {
  x86_64: {
    default: "max",
    matrix: ["max"],
    matrixSkips: [],
    accepted: ["max", "qemu64", "Skylake-Client", "EPYC"],
  },
  aarch64: {
    default: "neoverse-n1",
    matrix: ["neoverse-n1", "max,pauth-impdef=on"],
    matrixSkips: [{
      model: "max,pauth-impdef=on",
      criu: "=4.1.1",
      // Measured in issue 14 (2026-11-30), two runs of every case: 24 of 28 restores hung.
      reason: "criu restore -d of CRIU 4.1.1 hangs in most cells on a CPU with pointer " +
        "authentication (24 of 28 restores measured; CRIU issues #2720, #2824): 60 s per cell, " +
        "and no verdict one could pin",
    }],
    accepted: ["neoverse-n1", "cortex-a72", "cortex-a57", "cortex-a53", "max"],
  },
};

/**
 * The kernel suite a CRIU suite ships with.
 *
 * @example
 * ```ts
 * import { nativeKernelSuite } from "./catalog.ts";
 * nativeKernelSuite("experimental"); // "sid"
 * ```
 */
export function nativeKernelSuite(criuSuite: DebianSuite): KernelSuite {
  return NATIVE_KERNEL[criuSuite];
}

/**
 * Orders two CPU models of one arch as the default matrix lists them, others after them by name.
 *
 * @example
 * ```ts
 * import { compareCpuModels } from "./catalog.ts";
 * ["max,pauth-impdef=on", "cortex-a72", "neoverse-n1"].sort((a, b) => compareCpuModels("aarch64", a, b));
 * // ["neoverse-n1", "max,pauth-impdef=on", "cortex-a72"]
 * ```
 */
export function compareCpuModels(arch: Arch, a: string, b: string): number {
  const rank = (cpu: string) => {
    const index = CPU_MODELS[arch].matrix.indexOf(cpu);
    return index === -1 ? CPU_MODELS[arch].matrix.length : index;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

/**
 * The base model of a QEMU `-cpu` value: the part before the first `,` that starts the
 * property list.
 *
 * @example
 * ```ts
 * import { cpuBaseModel } from "./catalog.ts";
 * cpuBaseModel("max,pauth-impdef=on"); // "max"
 * ```
 */
export function cpuBaseModel(cpu: string): string {
  return cpu.split(",", 1)[0];
}

/**
 * The catalog entry of a CRIU version, looked up by upstream version or by Debian suite.
 *
 * @example
 * ```ts
 * import { findCriu } from "./catalog.ts";
 * findCriu("trixie")?.version; // "4.1.1"
 * findCriu("4.3")?.suite; // "experimental"
 * ```
 */
export function findCriu(versionOrSuite: string): CriuSpec | undefined {
  return CRIU_VERSIONS.find((criu) =>
    criu.version === versionOrSuite || criu.suite === versionOrSuite
  );
}
