/**
 * Turns validated options into the VMs to boot: one per CRIU version × arch × kernel.
 *
 * @module
 */

import {
  type Arch,
  ARCHES,
  type CaseDefinition,
  type CriuSpec,
  type KernelSpec,
  type MatrixPlan,
  type VmPlan,
} from "./types.ts";
import { compareKernelNames, CPU_MODELS, CRIU_VERSIONS, nativeKernelSuite } from "./catalog.ts";
import { parseVersionRange, versionInRange } from "./version_range.ts";
import type { MatrixOptions } from "./command_options.ts";

/**
 * Plans the run: one {@link VmPlan} per CRIU version × arch × kernel × CPU model, ordered by
 * CRIU version (oldest first), then arch, then kernel as the catalog lists them, then CPU model
 * as given, each with the selected
 * cases in the order of `cases`. Kernel choices that resolve to the same suite (`native` and
 * `bookworm` for CRIU 3.17.1) give one VM.
 *
 * @example
 * ```ts
 * import { planMatrix } from "./plan.ts";
 * import { parseMatrixOptions } from "../cli/matrix.ts";
 * import { loadCases } from "./cases.ts";
 * const cases = await loadCases();
 * const options = parseMatrixOptions(["--criu", "3.17.1", "--arch", "x86_64"], {
 *   caseNames: cases.map((c) => c.name),
 * });
 * planMatrix(options, cases).vms[0].id; // "criu-3.17.1_x86_64_kernel-bookworm"
 * ```
 */
export function planMatrix(
  options: Pick<MatrixOptions, "arches" | "criu" | "cases" | "kernels" | "cpu" | "jobs" | "outDir">,
  cases: readonly CaseDefinition[],
): MatrixPlan {
  const unknown = options.cases.filter((name) => !cases.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `planMatrix: unknown case(s) ${unknown.join(", ")}; known: ${
        cases.map((c) => c.name).join(", ")
      }. Validate options against the loaded cases first`,
    );
  }
  const selectedCases = cases.filter((c) => options.cases.includes(c.name));
  const vms: VmPlan[] = [];
  for (const criu of sortByCatalog(options.criu, CRIU_VERSIONS, (c) => c.version)) {
    for (const arch of sortByCatalog(options.arches, ARCHES, (a) => a)) {
      for (const kernel of kernelsFor(criu, arch, options.kernels)) {
        for (const cpu of options.cpu[arch]) {
          if (skippedByDefault(arch, cpu, criu.version, options.cpu[arch])) continue;
          vms.push({
            id: `criu-${criu.version}_${arch}_kernel-${kernel.name}${cpuIdSuffix(arch, cpu)}`,
            arch,
            criu,
            kernel,
            cpu,
            cases: selectedCases,
          });
        }
      }
    }
  }
  return { vms, jobs: options.jobs, outDir: options.outDir };
}

/**
 * What a VM id adds for a CPU model other than the arch's default: `_cpu-` and the model with
 * every character that is no letter or digit as `-` (`_cpu-max-pauth-impdef-on`); nothing for
 * the default, so ids of runs on the default model stay as they were.
 */
function cpuIdSuffix(arch: Arch, cpu: string): string {
  return cpu === CPU_MODELS[arch].default ? "" : `_cpu-${cpu.replace(/[^A-Za-z0-9]+/g, "-")}`;
}

/**
 * Whether the default matrix leaves the CRIU version out on this CPU model (catalog
 * `matrixSkips`): only when no model of the arch was named (the list is the catalog's own).
 */
function skippedByDefault(
  arch: Arch,
  cpu: string,
  version: string,
  models: readonly string[],
): boolean {
  const { matrix, matrixSkips } = CPU_MODELS[arch];
  return models === matrix &&
    matrixSkips.some((skip) =>
      skip.model === cpu && versionInRange(version, parseVersionRange(skip.criu))
    );
}

/** The kernels `criu` boots on `arch`, once each, in catalog order; a local kernel on its own arch. */
function kernelsFor(
  criu: CriuSpec,
  arch: Arch,
  kernels: MatrixOptions["kernels"],
): KernelSpec[] {
  const byName = new Map<string, KernelSpec>();
  for (const choice of kernels) {
    const kernel: KernelSpec = choice === "native"
      ? { kind: "suite", name: nativeKernelSuite(criu.suite), native: true }
      : choice;
    if (kernel.kind !== "local" || kernel.arch === arch) byName.set(kernel.name, kernel);
  }
  return [...byName.values()].sort((a, b) => compareKernelNames(a.name, b.name));
}

/** The items in the order of `catalog`, compared by `key`. */
function sortByCatalog<T>(
  items: readonly T[],
  catalog: readonly T[],
  key: (item: T) => string,
): T[] {
  const rank = (item: T) => catalog.findIndex((known) => key(known) === key(item));
  return items.toSorted((a, b) => rank(a) - rank(b));
}
