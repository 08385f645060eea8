/**
 * The figures of `task bench`, each with its floor (what CRIU's own work alone would take) and
 * the target issue 17 set, as rows that a later run compares against (`--against FILE`).
 *
 * @module
 */
import type { CellResult } from "../harness/core/types.ts";
import { criticalPath, type VmTiming } from "../harness/core/schedule.ts";

/** One figure: its value, its floor and its target (null where there is none). */
export interface BenchRow {
  figure: string;
  value: number;
  floor: number | null;
  target: number | null;
  unit: "s" | "x" | "procs";
  /** What the figure was measured on, when that changes between runs (a critical path's VMs). */
  detail?: string;
}

/** What the figures of one matrix run are made of. */
export interface RunTimes {
  /** The run's cells, with the guest's process starts in each (null when not known). */
  cells: readonly (CellResult & { processes: number | null })[];
  /** Per VM: when it started (seconds after the run started), how long it ran, its boots. */
  vms: Record<string, { startedAt: number; seconds: number; bootSeconds: number[] }>;
  wallSeconds: number;
  /** The lanes CRIU's work can spread over: `--jobs`, or the cores when there are fewer. */
  jobs: number;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: number[]) => values.length === 0 ? 0 : sum(values) / values.length;

/** CRIU's own seconds in a cell: its dump and its restore. */
function criuSeconds(cell: CellResult): number {
  return (cell.dump?.seconds ?? 0) + (cell.restore?.seconds ?? 0);
}

/** The cells grouped by a key, in the order keys first appear. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    groups.set(name, [...groups.get(name) ?? [], item]);
  }
  return groups;
}

/**
 * The figures of one matrix run, named `LABEL: ...`:
 * - `wall`: the run's seconds; floor: CRIU's seconds spread over the lanes (`--jobs`, or the
 *   cores when fewer), or the costliest VM's CRIU seconds if more;
 * - `critical path` and `alone at the end` (see {@link criticalPath}); floor: the CRIU seconds of
 *   the path's VMs, and 0;
 * - per arch and CRIU version, `overhead ARCH CRIU`: cell seconds minus CRIU's dump and restore
 *   seconds, over those (floor 0, target 0.5), and `cells ARCH CRIU`: the cells' seconds (floor:
 *   CRIU's);
 * - per arch, `VM start ARCH` (mean and max boot to a ready agent, target 1 s) and `processes
 *   per cell ARCH` (process and thread starts in the guest, CRIU's and the fixture's included).
 *
 * @example
 * ```ts
 * import { runRows } from "./figures.ts";
 * const cell = {
 *   arch: "x86_64", criu: { version: "4.3" }, kernel: { name: "sid" }, seconds: 3, processes: 20,
 *   dump: { seconds: 1 }, restore: { seconds: 1 },
 * };
 * const rows = runRows("warm", {
 *   // deno-lint-ignore no-explicit-any -- only the fields the figures read
 *   cells: [cell as any],
 *   vms: { "criu-4.3_x86_64_kernel-sid": { startedAt: 1, seconds: 8, bootSeconds: [4] } },
 *   wallSeconds: 10,
 *   jobs: 2,
 * });
 * rows.find((row) => row.figure === "warm: overhead x86_64 4.3")?.value; // 0.5
 * ```
 */
export function runRows(
  label: string,
  run: RunTimes,
  targetWall: number | null = null,
): BenchRow[] {
  const rows: BenchRow[] = [];
  const add = (
    figure: string,
    value: number,
    floor: number | null,
    target: number | null,
    unit: BenchRow["unit"] = "s",
    detail?: string,
  ) =>
    rows.push({
      figure: `${label}: ${figure}`,
      value: round(value, unit === "x" ? 2 : 1),
      floor: floor === null ? null : round(floor, unit === "x" ? 2 : 1),
      target,
      unit,
      ...detail === undefined ? {} : { detail },
    });
  const vmIdOf = (cell: CellResult) =>
    `criu-${cell.criu.version}_${cell.arch}_kernel-${cell.kernel.name}`;
  const criuPerVm = new Map(
    [...groupBy(run.cells, vmIdOf)].map(([id, cells]) => [id, sum(cells.map(criuSeconds))]),
  );
  const criuTotal = sum(run.cells.map(criuSeconds));
  add("wall", run.wallSeconds, Math.max(criuTotal / run.jobs, ...criuPerVm.values()), targetWall);
  const timings: VmTiming[] = Object.entries(run.vms).map(([id, vm]) => ({ id, ...vm }));
  const path = criticalPath(timings);
  if (path) {
    add(
      "critical path",
      path.endsAt,
      sum(path.vms.map((vm) => criuPerVm.get(vm.id) ?? 0)),
      null,
      "s",
      path.vms.map((vm) => vm.id).join(" → "),
    );
    add("alone at the end", path.aloneSeconds, 0, null);
  }
  for (const [key, cells] of groupBy(run.cells, (cell) => `${cell.arch} ${cell.criu.version}`)) {
    const criu = sum(cells.map(criuSeconds));
    const total = sum(cells.map((cell) => cell.seconds));
    add(`overhead ${key}`, criu > 0 ? (total - criu) / criu : 0, 0, 0.5, "x");
    add(`cells ${key}`, total, criu, null);
  }
  for (const [arch, cells] of groupBy(run.cells, (cell) => cell.arch)) {
    const boots = Object.entries(run.vms).filter(([id]) => id.includes(`_${arch}_`))
      .flatMap(([, vm]) => vm.bootSeconds);
    add(`VM start ${arch} mean`, mean(boots), null, 1);
    add(`VM start ${arch} max`, Math.max(0, ...boots), null, 1);
    const starts = cells.flatMap((cell) => cell.processes === null ? [] : [cell.processes]);
    if (starts.length > 0) {
      add(`processes per cell ${arch}`, mean(starts), null, null, "procs");
    }
  }
  return rows;
}

/**
 * The rows as an aligned table: each figure with its floor and target and, when `against` (an
 * earlier run's rows) has the same figure, its value then and the change.
 *
 * @example
 * ```ts
 * import { formatRows } from "./figures.ts";
 * const row = { figure: "warm: wall", value: 90, floor: 40, target: 90, unit: "s" as const };
 * formatRows([row], [{ ...row, value: 150 }]).at(-1); // "warm: wall  90 s  40 s  90 s  150 s  -40%"
 * ```
 */
export function formatRows(rows: readonly BenchRow[], against: readonly BenchRow[] = []): string[] {
  const unit = (value: number | null, row: BenchRow) =>
    value === null ? "-" : row.unit === "x" ? `${value}x` : `${value} ${row.unit}`;
  const before = new Map(against.map((row) => [row.figure, row]));
  const table = [
    [
      "figure",
      "now",
      "floor",
      "target",
      ...(against.length > 0 ? ["before", "change"] : []),
      "",
    ],
    ...rows.map((row) => {
      const then = before.get(row.figure);
      const change = then && then.value !== 0
        ? `${row.value >= then.value ? "+" : ""}${Math.round((row.value / then.value - 1) * 100)}%`
        : "-";
      return [
        row.figure,
        unit(row.value, row),
        unit(row.floor, row),
        unit(row.target, row),
        ...(against.length > 0 ? [then ? unit(then.value, then) : "-", then ? change : "-"] : []),
        row.detail ?? "",
      ];
    }),
  ];
  const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
  return table.map((line) =>
    line.map((text, column) => column === line.length - 1 ? text : text.padEnd(widths[column]))
      .join("  ").trimEnd()
  );
}
