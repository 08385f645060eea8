/**
 * The matrix shape shared by the reports: results grouped into columns (CRIU version × arch ×
 * kernel) and rows (cases), in catalog and case order.
 *
 * @module
 */

import { compareCaseNames } from "../harness/core/cases.ts";
import {
  type Arch,
  ARCHES,
  type CellResult,
  type CheckResult,
  type ResultsFile,
  type Verdict,
} from "../harness/core/types.ts";
import {
  compareCpuModels,
  compareKernelNames,
  CRIU_VERSIONS,
  expectedKernelSeries,
  rankIn,
} from "../harness/core/catalog.ts";
import { cellKey } from "../harness/core/results.ts";

/** One column of the matrix: one VM's CRIU, arch, kernel and CPU model. */
export interface MatrixColumn {
  /** `CRIU version/arch/kernel suite`, with `@CPU` for a CPU model other than the arch's default. */
  key: string;
  arch: Arch;
  /** From the column's first cell, with the first non-null reported version of any. */
  criu: CellResult["criu"];
  /** From the column's first cell, with the first non-null kernel version of any. */
  kernel: CellResult["kernel"];
  cpu: string;
  accel: CellResult["accel"];
  /** The run has other kernels for this CRIU version and arch: the kernel must be shown. */
  kernelDistinguishes: boolean;
  /** The run has other CPU models for this CRIU version and arch: the model must be shown. */
  cpuDistinguishes: boolean;
  cells: CellResult[];
}

/** The cells of a run as rows × columns. */
export interface MatrixGrid {
  columns: MatrixColumn[];
  /** Case names in case order. */
  caseNames: string[];
  /** The cell of a case in a column; undefined when it has not run. A later cell wins. */
  cellAt(caseName: string, column: MatrixColumn): CellResult | undefined;
}

/**
 * Groups the cells of a run into a grid: columns by CRIU version (catalog order, unknown
 * versions last), arch, kernel suite; rows in case order.
 *
 * @example
 * ```ts
 * import { buildMatrixGrid } from "./grid.ts";
 * const grid = buildMatrixGrid({
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * });
 * grid.columns.length; // 0
 * ```
 */
export function buildMatrixGrid(results: ResultsFile): MatrixGrid {
  const byKey = new Map<string, CellResult>();
  const columnsByKey = new Map<string, MatrixColumn>();
  for (const cell of results.cells) {
    byKey.set(cellKey(cell), cell);
    const key = columnKey(cell);
    const column = columnsByKey.get(key);
    if (column === undefined) {
      columnsByKey.set(key, {
        key,
        arch: cell.arch,
        criu: { ...cell.criu },
        kernel: { ...cell.kernel },
        cpu: cell.cpu,
        accel: cell.accel,
        kernelDistinguishes: false,
        cpuDistinguishes: false,
        cells: [cell],
      });
      continue;
    }
    column.cells.push(cell);
    column.criu.reportedVersion ??= cell.criu.reportedVersion;
    column.kernel.version ??= cell.kernel.version;
  }
  const columns = [...columnsByKey.values()].sort(compareColumns);
  for (const column of columns) {
    column.kernelDistinguishes = columns.some((other) =>
      other !== column && other.criu.version === column.criu.version &&
      other.arch === column.arch && other.kernel.name !== column.kernel.name
    );
    column.cpuDistinguishes = columns.some((other) =>
      other !== column && other.criu.version === column.criu.version &&
      other.arch === column.arch && other.cpu !== column.cpu
    );
  }
  return {
    columns,
    caseNames: [...new Set(results.cells.map((cell) => cell.case))].sort(compareCaseNames),
    cellAt: (caseName, column) => byKey.get(cellKey({ ...column, case: caseName })),
  };
}

/** A column is one VM: a cell's key without its case (the CPU model included). */
function columnKey(cell: CellResult): string {
  return cellKey({ ...cell, case: "" });
}

function compareColumns(a: MatrixColumn, b: MatrixColumn): number {
  const versions = CRIU_VERSIONS.map((c) => c.version);
  return rankIn(versions, a.criu.version) - rankIn(versions, b.criu.version) ||
    a.criu.version.localeCompare(b.criu.version) ||
    rankIn(ARCHES, a.arch) - rankIn(ARCHES, b.arch) ||
    compareKernelNames(a.kernel.name, b.kernel.name) ||
    compareCpuModels(a.arch, a.cpu, b.cpu);
}

/**
 * The legend of the reports, in verdict order: what each verdict means, and what the detail a
 * cell shows next to it names (the stage of a fail, the kind of an error; see `verdictDetail`).
 *
 * @example
 * ```ts
 * import { VERDICT_LEGEND } from "./grid.ts";
 * VERDICT_LEGEND.fail.detail; // "stage"
 * Object.keys(VERDICT_LEGEND); // ["pass", "fail", "error", "skip"]
 * ```
 */
export const VERDICT_LEGEND: Readonly<
  Record<Verdict, { readonly detail: string | null; readonly meaning: string }>
> = {
  pass: { detail: null, meaning: "CRIU dumped and restored the task and every check held." },
  fail: {
    detail: "stage",
    meaning: "CRIU refused, or restored something different; the stage says where " +
      "(probe, dump, restore, check, resume).",
  },
  error: {
    detail: "kind",
    meaning: "The harness, image or VM failed (timeout, panic, boot, agent, ...): " +
      "says nothing about CRIU.",
  },
  skip: { detail: null, meaning: "Not run in this configuration." },
};

/**
 * The mark a passing cell carries next to its verdict when a check held only as equivalent,
 * and what it means, for the legends.
 *
 * @example
 * ```ts
 * import { EQUIVALENT } from "./grid.ts";
 * EQUIVALENT.mark; // "≈"
 * ```
 */
export const EQUIVALENT = {
  mark: "≈",
  meaning: "Passed as equivalent: a value differs in a way no program can observe (a stop " +
    "signal pending in a task stopped before and after, which SIGCONT flushes unseen); the " +
    "cell's details show the difference and why.",
} as const;

/**
 * The checks of a passing cell that held only as equivalent; empty for any other cell.
 *
 * @example
 * ```ts
 * import { equivalentChecks } from "./grid.ts";
 * equivalentChecks({ verdict: "pass", checks: [] }); // []
 * ```
 */
export function equivalentChecks(
  cell: Pick<CellResult, "verdict" | "checks">,
): CheckResult[] {
  return cell.verdict === "pass" ? cell.checks.filter((check) => check.equivalent) : [];
}

/**
 * What an empty cell of the matrix means, for the legends.
 *
 * @example
 * ```ts
 * import { EMPTY_CELL_MEANING } from "./grid.ts";
 * EMPTY_CELL_MEANING; // "No result (yet) for this case here."
 * ```
 */
export const EMPTY_CELL_MEANING = "No result (yet) for this case here.";

/**
 * How many cells have each verdict.
 *
 * @example
 * ```ts
 * import { countVerdicts } from "./grid.ts";
 * countVerdicts([]); // { pass: 0, fail: 0, error: 0, skip: 0 }
 * ```
 */
export function countVerdicts(
  cells: readonly Pick<CellResult, "verdict">[],
): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { pass: 0, fail: 0, error: 0, skip: 0 };
  for (const cell of cells) counts[cell.verdict]++;
  return counts;
}

/**
 * The first error line CRIU logged for the command that failed (by the cell's stage),
 * else the first of dump and restore that has one.
 *
 * @example
 * ```ts
 * import { criuErrorLine } from "./grid.ts";
 * criuErrorLine({
 *   stage: "dump",
 *   dump: { exitCode: 1, error: "Error (criu/cr-dump.c:1): boom", timedOut: false, seconds: 1 },
 *   restore: null,
 * }); // { command: "dump", line: "Error (criu/cr-dump.c:1): boom" }
 * ```
 */
export function criuErrorLine(
  cell: Pick<CellResult, "stage" | "dump" | "restore">,
): { command: "dump" | "restore"; line: string } | null {
  const commands = cell.stage === "restore"
    ? ["restore", "dump"] as const
    : ["dump", "restore"] as const;
  for (const command of commands) {
    const line = cell[command]?.error;
    if (line) return { command, line };
  }
  return null;
}

/**
 * The lines that name a column for a reader: CRIU, machine, kernel. A kernel no cell reported a
 * version of shows the series its suite is expected to ship.
 *
 * @example
 * ```ts
 * import { columnLabel } from "./grid.ts";
 * columnLabel({
 *   criu: { version: "3.17.1", suite: "bookworm", packageVersion: "3.17.1-2", reportedVersion: null },
 *   arch: "x86_64",
 *   cpu: "max",
 *   accel: "kvm",
 *   kernel: { name: "sid", version: null },
 * }); // ["CRIU 3.17.1 (bookworm)", "x86_64 · max · kvm", "kernel sid 7.x (expected)"]
 * ```
 */
export function columnLabel(
  column: Pick<MatrixColumn, "criu" | "arch" | "cpu" | "accel" | "kernel">,
): string[] {
  const expected = expectedKernelSeries(column.kernel.name);
  const kernelVersion = column.kernel.version ??
    (expected === null ? "(not booted)" : `${expected} (expected)`);
  return [
    `CRIU ${column.criu.version} (${column.criu.suite})`,
    `${column.arch} · ${column.cpu} · ${column.accel}`,
    `kernel ${column.kernel.name} ${kernelVersion}`,
  ];
}

/**
 * What a verdict needs said next to it: the stage of a fail, the kind (else the stage) of an
 * error; null for a pass, a skip, or when nothing is known.
 *
 * @example
 * ```ts
 * import { verdictDetail } from "./grid.ts";
 * verdictDetail({ verdict: "error", stage: null, errorKind: "timeout" }); // "timeout"
 * verdictDetail({ verdict: "pass", stage: null, errorKind: null }); // null
 * ```
 */
export function verdictDetail(
  cell: Pick<CellResult, "verdict" | "stage" | "errorKind">,
): string | null {
  switch (cell.verdict) {
    case "fail":
      return cell.stage || null;
    case "error":
      return cell.errorKind || cell.stage || null;
    default:
      return null;
  }
}
