/**
 * The results store: `DIR/results.json`, rewritten atomically after every cell so that it is
 * valid at every moment and an interrupted run loses nothing; and its validating reader.
 *
 * @module
 */

import { join } from "node:path";
import {
  childField,
  readArray,
  readBoolean,
  readNullable,
  readNumber,
  readOneOf,
  readRecord,
  readString,
  ShapeError,
} from "./json_shape.ts";
import {
  ACCELERATORS,
  ARCHES,
  type CellAttempt,
  type CellResult,
  type CellTriage,
  type CheckResult,
  type CriuCommandResult,
  EQUALITIES,
  GUEST_SUITES,
  type ResultsFile,
  type RunInfo,
  STAGES,
  TRIAGE_STATUSES,
  VERDICTS,
} from "./types.ts";
import { confineRelativePath, requireRegularFile, writeFileReplacing } from "./confined_path.ts";
import { MAX_SHARDS, parseShard } from "./shard.ts";
import { InputFileError } from "./errors.ts";
import { readHangDiagnoses } from "./hang.ts";
import { readBootRecord, readRecordedCommands } from "./repro_record.ts";
import { CPU_MODELS } from "./catalog.ts";

/** The results file name inside the output directory. */
export const RESULTS_FILE_NAME = "results.json";

/**
 * The identity of a cell in a run: `CRIU version/arch/kernel/case`, the kernel followed by
 * `@CPU` when the cell ran on a CPU model other than its arch's default (absent `cpu`: the
 * default), so a run on several models of one arch keeps their cells apart.
 *
 * @example
 * ```ts
 * import { cellKey } from "./results.ts";
 * cellKey({
 *   criu: { version: "3.17.1" },
 *   arch: "x86_64",
 *   kernel: { name: "bookworm" },
 *   case: "sigstop",
 * }); // "3.17.1/x86_64/bookworm/sigstop"
 * cellKey({
 *   criu: { version: "4.3" },
 *   arch: "aarch64",
 *   kernel: { name: "sid" },
 *   cpu: "max,pauth-impdef=on",
 *   case: "sigstop",
 * }); // "4.3/aarch64/sid@max,pauth-impdef=on/sigstop"
 * ```
 */
export function cellKey(
  cell: {
    criu: Pick<CellResult["criu"], "version">;
    arch: CellResult["arch"];
    kernel: Pick<CellResult["kernel"], "name">;
    cpu?: string;
    case: string;
  },
): string {
  const cpu = cell.cpu === undefined || cell.cpu === CPU_MODELS[cell.arch]?.default
    ? ""
    : `@${cell.cpu}`;
  return `${cell.criu.version}/${cell.arch}/${cell.kernel.name}${cpu}/${cell.case}`;
}

/**
 * Keeps `DIR/results.json` up to date while a run adds cells. Calls may overlap (parallel
 * VMs): writes are queued so each one renames a complete file.
 *
 * @example
 * ```ts
 * import { ResultsWriter } from "./results.ts";
 * const writer = await ResultsWriter.create(await Deno.makeTempDir());
 * (await writer.finish()).cells.length; // 0
 * ```
 */
export class ResultsWriter {
  readonly path: string;
  #results: ResultsFile;
  #queue: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string, startedAt: Date) {
    this.path = join(dir, RESULTS_FILE_NAME);
    this.#results = {
      tool: "criu-matrix",
      schemaVersion: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: null,
      cells: [],
    };
  }

  /**
   * Creates `dir` if needed and writes a results file holding `cells` (those an interrupted run
   * already finished, when resuming; none otherwise).
   */
  static async create(
    dir: string,
    startedAt: Date = new Date(),
    cells: readonly CellResult[] = [],
    run?: ResultsFile["run"],
  ): Promise<ResultsWriter> {
    await Deno.mkdir(dir, { recursive: true });
    const writer = new ResultsWriter(dir, startedAt);
    writer.#results.cells.push(...structuredClone(cells));
    if (run) writer.#results.run = structuredClone(run);
    await writer.#save();
    return writer;
  }

  /** Replaces the cell with the same {@link cellKey} (a rerun's last try), or adds it. */
  replace(cell: CellResult): Promise<void> {
    const key = cellKey(cell);
    const index = this.#results.cells.findIndex((existing) => cellKey(existing) === key);
    if (index < 0) this.#results.cells.push(structuredClone(cell));
    else this.#results.cells[index] = structuredClone(cell);
    return this.#save();
  }

  /** Adds a cell and resolves once the file on disk contains it. */
  add(cell: CellResult): Promise<void> {
    this.#results.cells.push(structuredClone(cell));
    return this.#save();
  }

  /**
   * Waits for the last cell's write, records the end time and resolves to the finished
   * results. Their final file is the caller's to write, once, with the triage.
   */
  async finish(finishedAt: Date = new Date()): Promise<ResultsFile> {
    await this.#queue;
    this.#results.finishedAt = finishedAt.toISOString();
    return this.snapshot();
  }

  /** A copy of what has been recorded so far. */
  snapshot(): ResultsFile {
    return structuredClone(this.#results);
  }

  #save(): Promise<void> {
    // A failed write must not block later ones: each write carries the full state.
    const write = this.#queue.catch(() => {}).then(() => writeResults(this.dir, this.#results));
    this.#queue = write;
    return write;
  }
}

/**
 * Writes `DIR/results.json` atomically (a temporary file renamed over it), e.g. to rewrite a
 * finished run with its triage.
 *
 * @example
 * ```ts
 * import { writeResults } from "./results.ts";
 * await writeResults(await Deno.makeTempDir(), {
 *   tool: "criu-matrix",
 *   schemaVersion: 1,
 *   startedAt: "2026-11-27T16:45:00.000Z",
 *   finishedAt: null,
 *   cells: [],
 * });
 * ```
 */
export async function writeResults(dir: string, results: ResultsFile): Promise<void> {
  try {
    await writeFileReplacing(join(dir, RESULTS_FILE_NAME), `${JSON.stringify(results, null, 2)}\n`);
  } catch (error) {
    throw new ResultsFileError(
      join(dir, RESULTS_FILE_NAME),
      `cannot be updated (${(error as Error).message}); the cells written before are still ` +
        `there and valid. Free space or fix permissions, then continue with --resume ${dir}`,
    );
  }
}

/** A results file that cannot be read, is not JSON, or does not match {@link ResultsFile}. */
export class ResultsFileError extends InputFileError {}

/**
 * Reads and validates a results file. Any problem, including a missing file, throws
 * {@link ResultsFileError} naming the file and the first bad field.
 *
 * @example
 * ```ts
 * import { readResults, ResultsWriter } from "./results.ts";
 * const writer = await ResultsWriter.create(await Deno.makeTempDir());
 * (await readResults(writer.path)).tool; // "criu-matrix"
 * ```
 */
export async function readResults(path: string): Promise<ResultsFile> {
  let text: string;
  try {
    // A FIFO or device would block the read or never end: refused before opening it.
    await requireRegularFile(path);
    const size = (await Deno.stat(path)).size;
    if (size > MAX_RESULTS_BYTES) {
      throw new Error(`${size} bytes, more than the ${MAX_RESULTS_BYTES} a results file may hold`);
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ResultsFileError(
      path,
      `cannot read it (${(error as Error).message}); pass the results.json of a run`,
    );
  }
  return parseResults(text, path);
}

/** Largest results file read: a full matrix with every cell failing is under 10 MiB. */
export const MAX_RESULTS_BYTES = 64 << 20;
/**
 * Most matrix positions (columns × cases) a results file may span: the reports draw each one,
 * and a larger grid is no longer readable (a 1,500 × 1,500 grid made a 105 MB index.html).
 */
export const MAX_GRID_POSITIONS = 100_000;

/**
 * Reads the results of a run given its output directory or its results.json; resolves to the
 * file read and its validated content. Throws {@link ResultsFileError} like {@link readResults}.
 *
 * @example
 * ```ts
 * import { readResultsFrom, ResultsWriter } from "./results.ts";
 * const writer = await ResultsWriter.create(await Deno.makeTempDir());
 * (await readResultsFrom(writer.dir)).path === writer.path; // true
 * ```
 */
export async function readResultsFrom(
  dirOrFile: string,
): Promise<{ path: string; results: ResultsFile }> {
  const isDir = await Deno.stat(dirOrFile).then((info) => info.isDirectory, () => false);
  const path = isDir ? join(dirOrFile, RESULTS_FILE_NAME) : dirOrFile;
  return { path, results: await readResults(path) };
}

/**
 * Validates the text of a results file; `file` names it in errors.
 *
 * @example
 * ```ts
 * import { parseResults } from "./results.ts";
 * const text = '{"tool":"criu-matrix","schemaVersion":1,"startedAt":"2026-11-27T16:45:00.000Z",' +
 *   '"finishedAt":null,"cells":[]}';
 * parseResults(text, "results.json").cells; // []
 * ```
 */
export function parseResults(text: string, file: string): ResultsFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ResultsFileError(
      file,
      `not valid JSON (${(error as Error).message}); the file is truncated or not a results file`,
    );
  }
  try {
    return readResultsFile(value);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new ResultsFileError(
      file,
      `${error.message}; it is not a criu-matrix results file of schema version 1`,
    );
  }
}

function readResultsFile(value: unknown): ResultsFile {
  const record = readRecord(value, "");
  const results: ResultsFile = {
    tool: readOneOf(record.tool, "tool", ["criu-matrix"]),
    schemaVersion: readOneOf(record.schemaVersion, "schemaVersion", [1]),
    startedAt: readTimestamp(record.startedAt, "startedAt"),
    finishedAt: readNullable(record.finishedAt, "finishedAt", readTimestamp),
    cells: readArray(record.cells, "cells", readCell),
  };
  if (record.run !== undefined) results.run = readRunInfo(record.run, "run");
  const columns = new Set(results.cells.map((cell) => cellKey({ ...cell, case: "" }))).size;
  const cases = new Set(results.cells.map((cell) => cell.case)).size;
  if (columns * cases > MAX_GRID_POSITIONS) {
    throw new ShapeError(
      "cells",
      `${columns} columns × ${cases} cases`,
      `at most ${MAX_GRID_POSITIONS} matrix positions (columns × cases)`,
    );
  }
  return results;
}

/** A name (case, version, kernel, CPU): one line of printable text, at most 200 characters. */
function readName(value: unknown, field: string): string {
  const name = readString(value, field, { nonEmpty: true });
  // deno-lint-ignore no-control-regex -- names reach terminals and reports
  if (name.length > 200 || /[\x00-\x1f\x7f-\x9f]/.test(name)) {
    throw new ShapeError(
      field,
      name,
      "a name of at most 200 characters without control characters",
    );
  }
  return name;
}

/** A log path: relative, normalised, inside the run directory (see confineRelativePath). */
function readLogPath(value: unknown, field: string): string {
  const path = readString(value, field);
  const confined = confineRelativePath(path);
  if (confined !== path) {
    throw new ShapeError(field, path, "a normalised path relative to the run directory, inside it");
  }
  return confined;
}

function readRunInfo(value: unknown, field: string): RunInfo {
  const record = readRecord(value, field);
  const at = (key: string) => childField(field, key);
  const hashes = readRecord(record.caseHashes, at("caseHashes"));
  return {
    planId: readString(record.planId, at("planId"), { nonEmpty: true }),
    shards: readArray(record.shards, at("shards"), (item, itemField) => {
      const shard = readString(item, itemField);
      try {
        parseShard(shard);
      } catch {
        throw new ShapeError(itemField, shard, `a shard "K/N", 1 ≤ K ≤ N ≤ ${MAX_SHARDS}`);
      }
      return shard;
    }),
    caseHashes: Object.fromEntries(
      Object.entries(hashes).map((
        [name, hash],
      ) => [name, readString(hash, childField(at("caseHashes"), name), { nonEmpty: true })]),
    ),
  };
}

function readTimestamp(value: unknown, field: string): string {
  // Date.parse alone accepts odd strings such as "1"; results hold toISOString() output.
  if (
    typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T/.test(value) ||
    Number.isNaN(Date.parse(value))
  ) {
    throw new ShapeError(field, value, "an ISO 8601 date-time string");
  }
  return value;
}

function readCell(value: unknown, field: string): CellResult {
  const record = readRecord(value, field);
  const at = (key: string) => childField(field, key);
  const criu = readRecord(record.criu, at("criu"));
  const kernel = readRecord(record.kernel, at("kernel"));
  const logs = readRecord(record.logs, at("logs"));
  const criuAt = (key: string) => childField(at("criu"), key);
  const logAt = (key: string) => readNullable(logs[key], childField(at("logs"), key), readLogPath);
  const cell: CellResult = {
    arch: readOneOf(record.arch, at("arch"), ARCHES),
    criu: {
      version: readName(criu.version, criuAt("version")),
      suite: readOneOf(criu.suite, criuAt("suite"), GUEST_SUITES),
      packageVersion: readString(criu.packageVersion, criuAt("packageVersion")),
      reportedVersion: readNullable(criu.reportedVersion, criuAt("reportedVersion"), readString),
    },
    kernel: {
      name: readName(kernel.name, childField(at("kernel"), "name")),
      version: readNullable(kernel.version, childField(at("kernel"), "version"), readName),
    },
    cpu: readName(record.cpu, at("cpu")),
    accel: readOneOf(record.accel, at("accel"), ACCELERATORS),
    case: readName(record.case, at("case")),
    verdict: readOneOf(record.verdict, at("verdict"), VERDICTS),
    stage: readOneOf(record.stage, at("stage"), STAGES_OR_NONE),
    errorKind: readNullable(record.errorKind, at("errorKind"), readString),
    summary: readString(record.summary, at("summary")),
    dump: readNullable(record.dump, at("dump"), readCommand),
    restore: readNullable(record.restore, at("restore"), readCommand),
    checks: readArray(record.checks, at("checks"), readCheck),
    seconds: readNumber(record.seconds, at("seconds"), { min: 0 }),
    logs: {
      dump: logAt("dump"),
      restore: logAt("restore"),
      console: logAt("console"),
      agent: logAt("agent"),
      ...(logs.hang === undefined ? {} : { hang: logAt("hang") }),
    },
  };
  if (record.bootSeconds !== undefined) {
    cell.bootSeconds = readNumber(record.bootSeconds, at("bootSeconds"), { min: 0 });
  }
  if (record.triage !== undefined) cell.triage = readTriage(record.triage, at("triage"));
  if (record.attempts !== undefined) {
    cell.attempts = readArray(record.attempts, at("attempts"), readAttempt);
  }
  if (record.limits !== undefined) cell.limits = readArray(record.limits, at("limits"), readString);
  if (record.hangs !== undefined) cell.hangs = readHangDiagnoses(record.hangs, at("hangs"));
  if (record.commands !== undefined) {
    cell.commands = readRecordedCommands(record.commands, at("commands"));
  }
  if (record.boot !== undefined) cell.boot = readBootRecord(record.boot, at("boot"));
  return cell;
}

const STAGES_OR_NONE = [...STAGES, null] as const;

function readTriage(value: unknown, field: string): CellTriage {
  const record = readRecord(value, field);
  return {
    status: readOneOf(record.status, childField(field, "status"), TRIAGE_STATUSES),
    reason: readNullable(record.reason, childField(field, "reason"), readString),
  };
}

function readAttempt(value: unknown, field: string): CellAttempt {
  const record = readRecord(value, field);
  const at = (key: string) => childField(field, key);
  return {
    verdict: readOneOf(record.verdict, at("verdict"), VERDICTS),
    stage: readOneOf(record.stage, at("stage"), STAGES_OR_NONE),
    summary: readString(record.summary, at("summary")),
    seconds: readNumber(record.seconds, at("seconds"), { min: 0 }),
    ...(record.errorKind === undefined || record.errorKind === null
      ? {}
      : { errorKind: readString(record.errorKind, at("errorKind")) }),
  };
}

function readCommand(value: unknown, field: string): CriuCommandResult {
  const record = readRecord(value, field);
  const at = (key: string) => childField(field, key);
  return {
    exitCode: readNullable(
      record.exitCode,
      at("exitCode"),
      (code, codeField) => readNumber(code, codeField, { integer: true }),
    ),
    error: readNullable(record.error, at("error"), readString),
    timedOut: readBoolean(record.timedOut, at("timedOut")),
    seconds: readNumber(record.seconds, at("seconds"), { min: 0 }),
  };
}

function readCheck(value: unknown, field: string): CheckResult {
  const record = readRecord(value, field);
  const at = (key: string) => childField(field, key);
  const check: CheckResult = {
    name: readString(record.name, at("name"), { nonEmpty: true }),
    ok: readBoolean(record.ok, at("ok")),
    before: readNullable(record.before, at("before"), readString),
    after: readNullable(record.after, at("after"), readString),
  };
  if (record.note !== undefined) check.note = readString(record.note, at("note"));
  if (record.equality !== undefined) {
    check.equality = readOneOf(record.equality, at("equality"), EQUALITIES);
  }
  if (record.equivalent !== undefined) {
    check.equivalent = readOneOf(record.equivalent, at("equivalent"), [true]);
    check.equivalentReason = readString(record.equivalentReason, at("equivalentReason"), {
      nonEmpty: true,
    });
  }
  return check;
}
