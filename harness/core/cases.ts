/**
 * The cases: one declarative JSON file per case under `cases/`, checked against
 * {@link CaseDefinition} when loaded so a bad file fails the run before any VM boots.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CaseDefinition,
  FAULT_INJECTIONS,
  FIXTURE_HANDLERS,
  type FixtureSpec,
  INTERRUPTED_CALLS,
  type SignalStateSpec,
  STOP_METHODS,
  STOP_SIGNALS,
  TERMINAL_CALLS,
  TREE_SHAPES,
} from "./types.ts";
import {
  childField,
  readArray,
  readBoolean,
  readNumber,
  readOneOf,
  readRecord,
  readString,
  rejectUnknownKeys,
  ShapeError,
} from "./json_shape.ts";
import { InputFileError } from "./errors.ts";
import { PIECE_FIELDS, readCasePieces, readDumpPieces } from "./case_pieces.ts";
import { signalStateProblem, STATE_SIGNAL_NAMES, stateSignalNumber } from "./fixture_scenarios.ts";
import { TERMINAL_STOP_SIGNALS, terminalProblem } from "./terminal_job.ts";

/**
 * The order `--list` and the reports show cases in: single-threaded stops by signal first,
 * then handlers, pending signals, threads, shell jobs, `--leave-running`, the flows the case
 * pieces make (cgroup freezer, tracer, restore options, pre-dump, iterations, namespaces), system
 * calls interrupted by the stop, signal state around the stop, tree shapes, and the control case
 * last. Cases not listed here follow, by name.
 */
export const CASE_ORDER: readonly string[] = [
  "sigstop",
  "sigtstp",
  "sigttin",
  "sigttou",
  "sigtstp-handler-reraise",
  "sigtstp-handler-sigstop",
  "sigstop-pending",
  "mt-sigstop",
  "mt-sigtstp",
  "mt-sigtstp-handler",
  "ctrl-z-shell-job",
  "tty-read-sigttin",
  "tty-write-sigttou",
  "ctrl-z-read-fg",
  "leave-running",
  "freeze-cgroup-sigstop",
  "freeze-cgroup-sigtstp",
  "frozen-cgroup-sigstop",
  "frozen-cgroup-sigtstp",
  "traced-sigstop",
  "tracer-detached-sigstop",
  "leave-stopped-sigstop",
  "leave-stopped-sigtstp",
  "restore-sibling-sigstop",
  "pre-dump-sigtstp",
  "iterations-sigtstp",
  "pidns-sigstop",
  "userns-sigstop",
  "syscall-pipe-read",
  "syscall-nanosleep",
  "syscall-futex",
  "signal-sigcont-blocked",
  "signal-sigtstp-pending",
  "signal-rt-queued",
  "tree-family",
  "zombie-leader-sigstop",
  "vfork-child-sigstop",
  "running",
];

/** The `cases/` directory of this repository. */
export const DEFAULT_CASES_DIR: URL = new URL("../../cases/", import.meta.url);

/** A case file that cannot be read, is not JSON, or does not match {@link CaseDefinition}. */
export class CaseFileError extends InputFileError {}

/** Case names end up in file names and on command lines. */
const CASE_NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Loads every `*.json` file of `dir` as a case, validated, in {@link CASE_ORDER}.
 * Throws {@link CaseFileError} for the first bad file.
 *
 * @example
 * ```ts
 * import { loadCases } from "./cases.ts";
 * const cases = await loadCases();
 * cases[0].name; // "sigstop"
 * ```
 */
export async function loadCases(dir: string | URL = DEFAULT_CASES_DIR): Promise<CaseDefinition[]> {
  const dirPath = dir instanceof URL ? fileURLToPath(dir) : dir;
  const files: string[] = [];
  for await (const entry of Deno.readDir(dirPath)) {
    if (entry.isFile && entry.name.endsWith(".json")) files.push(join(dirPath, entry.name));
  }
  if (files.length === 0) {
    throw new CaseFileError(dirPath, "no case files (*.json) found; add one per case");
  }
  const cases = await Promise.all(
    files.map(async (file) => parseCaseDefinition(await Deno.readTextFile(file), file)),
  );
  return cases.toSorted((a, b) => compareCaseNames(a.name, b.name));
}

/**
 * Parses and validates the text of one case file. `file` names the file in errors and must
 * be `NAME.json` for the case called NAME.
 *
 * @example
 * ```ts
 * import { parseCaseDefinition } from "./cases.ts";
 * const text = JSON.stringify({
 *   name: "sigstop",
 *   description: "Stopped by SIGSTOP.",
 *   fixture: { threads: 1, handler: "none", pendingSignal: null },
 *   stop: { via: "kill", signal: "SIGSTOP" },
 *   dump: { leaveRunning: false, shellJob: false },
 *   decides: ["SIGSTOP"],
 * });
 * parseCaseDefinition(text, "cases/sigstop.json").stop.signal; // "SIGSTOP"
 * ```
 */
export function parseCaseDefinition(text: string, file: string): CaseDefinition {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CaseFileError(file, `not valid JSON (${(error as Error).message}); fix the syntax`);
  }
  try {
    return readCaseDefinition(value, basename(file, ".json"));
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new CaseFileError(
      file,
      `${error.message}. Fix the file; its shape is CaseDefinition in harness/core/types.ts`,
    );
  }
}

function readCaseDefinition(value: unknown, fileStem: string): CaseDefinition {
  const record = readRecord(value, "");
  rejectUnknownKeys(
    record,
    ["name", "description", "fixture", "stop", "dump", "decides", "inject", ...PIECE_FIELDS],
    "",
  );
  const name = readString(record.name, "name");
  if (!CASE_NAME_PATTERN.test(name)) {
    throw new ShapeError("name", name, "lower-case letters and digits in dash-separated words");
  }
  if (name !== fileStem) {
    throw new ShapeError("name", name, `"${fileStem}" (the file name without .json)`);
  }
  const description = readString(record.description, "description", { nonEmpty: true });
  if (description.includes("\n")) {
    throw new ShapeError("description", description, "a single line");
  }
  const dump = readDump(record.dump, "dump");
  const caseDef: CaseDefinition = {
    name,
    description,
    fixture: readFixture(record.fixture, "fixture"),
    stop: readStop(record.stop, "stop"),
    dump,
    decides: readDecides(record.decides, "decides"),
    ...(record.inject === undefined
      ? {}
      : { inject: readOneOf(record.inject, "inject", FAULT_INJECTIONS) }),
    ...readCasePieces(record, dump),
  };
  checkTreeFits(caseDef);
  const problem = terminalProblem(caseDef);
  if (problem) throw new ShapeError(problem.field, problem.value, problem.accepted);
  return caseDef;
}

/** A zombie leader needs a thread that lives on; a vfork child is one thread, stopped by kill. */
function checkTreeFits(caseDef: CaseDefinition): void {
  const { tree, threads } = caseDef.fixture;
  if (tree === "zombie-leader" && threads < 2) {
    throw new ShapeError("fixture.threads", threads, "2 or more with tree zombie-leader");
  }
  if (tree === "vfork-child" && (threads !== 1 || caseDef.stop.via !== "kill")) {
    throw new ShapeError("fixture.tree", tree, "vfork-child only with 1 thread and stop.via kill");
  }
}

function readFixture(value: unknown, field: string): FixtureSpec {
  const record = readRecord(value, field);
  rejectUnknownKeys(
    record,
    ["threads", "handler", "pendingSignal", "blockedIn", "signals", "tree", "terminal"],
    field,
  );
  const fixture: FixtureSpec = {
    // fixtures/stopfix.c holds at most MAX_THREADS (64) threads.
    threads: readNumber(record.threads, childField(field, "threads"), {
      integer: true,
      min: 1,
      max: 64,
    }),
    handler: readOneOf(record.handler, childField(field, "handler"), FIXTURE_HANDLERS),
    pendingSignal: readOneOf(record.pendingSignal, childField(field, "pendingSignal"), [
      "SIGUSR2",
      null,
    ]),
  };
  return { ...fixture, ...readScenarioPieces(record, field, fixture.threads) };
}

/**
 * The optional fixture pieces `blockedIn`, `signals`, `tree` (harness/core/fixture_scenarios.ts)
 * and `terminal` (harness/core/terminal_job.ts).
 */
function readScenarioPieces(
  record: Record<string, unknown>,
  field: string,
  threads: number,
): Pick<FixtureSpec, "blockedIn" | "signals" | "tree" | "terminal"> {
  const pieces: Pick<FixtureSpec, "blockedIn" | "signals" | "tree" | "terminal"> = {};
  if (record.tree !== undefined) {
    pieces.tree = readOneOf(record.tree, childField(field, "tree"), TREE_SHAPES);
  }
  if (record.terminal !== undefined) {
    pieces.terminal = readOneOf(record.terminal, childField(field, "terminal"), TERMINAL_CALLS);
  }
  if (record.blockedIn !== undefined) {
    const callField = childField(field, "blockedIn");
    pieces.blockedIn = readOneOf(record.blockedIn, callField, INTERRUPTED_CALLS);
    // The call runs in the second thread; the first one handles SIGTERM and ends the call.
    if (threads < 2) {
      throw new ShapeError(childField(field, "threads"), threads, "2 or more with blockedIn");
    }
  }
  if (record.signals !== undefined) {
    pieces.signals = readSignalState(record.signals, childField(field, "signals"));
  }
  return pieces;
}

function readSignalState(value: unknown, field: string): SignalStateSpec {
  const record = readRecord(value, field);
  rejectUnknownKeys(record, ["blocked", "caught", "queued"], field);
  const signal = (item: unknown, itemField: string) => {
    const name = readString(item, itemField);
    if (stateSignalNumber(name) === null) throw new ShapeError(itemField, name, STATE_SIGNAL_NAMES);
    return name;
  };
  const spec: SignalStateSpec = {
    blocked: readArray(record.blocked, childField(field, "blocked"), signal),
    caught: readArray(record.caught, childField(field, "caught"), signal),
    queued: readArray(record.queued, childField(field, "queued"), (item, itemField) => {
      const queued = readRecord(item, itemField);
      rejectUnknownKeys(queued, ["signal", "count"], itemField);
      return {
        signal: signal(queued.signal, childField(itemField, "signal")),
        count: readNumber(queued.count, childField(itemField, "count"), {
          integer: true,
          min: 1,
          max: 16,
        }),
      };
    }),
  };
  const problem = signalStateProblem(spec);
  if (problem) throw new ShapeError(field, spec, `a signal state with one outcome (${problem})`);
  return spec;
}

function readStop(value: unknown, field: string): CaseDefinition["stop"] {
  const record = readRecord(value, field);
  rejectUnknownKeys(record, ["via", "signal"], field);
  const via = readOneOf(record.via, childField(field, "via"), STOP_METHODS);
  const signalField = childField(field, "signal");
  // Each way of stopping allows only some signals: a pty's suspend character sends SIGTSTP, a
  // background job's terminal read SIGTTIN and its write (TOSTOP) SIGTTOU, and a task that is
  // not stopped has no stop signal.
  switch (via) {
    case "none":
      return { via, signal: readOneOf(record.signal, signalField, [null]) };
    case "pty":
    case "tty-read":
    case "tty-write":
      return { via, signal: readOneOf(record.signal, signalField, [TERMINAL_STOP_SIGNALS[via]]) };
    case "kill":
      return { via, signal: readOneOf(record.signal, signalField, STOP_SIGNALS) };
  }
}

function readDump(value: unknown, field: string): CaseDefinition["dump"] {
  const record = readRecord(value, field);
  rejectUnknownKeys(
    record,
    ["leaveRunning", "shellJob", "freezeCgroup", "preDump", "seizeTimeout"],
    field,
  );
  return {
    leaveRunning: readBoolean(record.leaveRunning, childField(field, "leaveRunning")),
    shellJob: readBoolean(record.shellJob, childField(field, "shellJob")),
    ...readDumpPieces(record, field),
  };
}

function readDecides(value: unknown, field: string): CaseDefinition["decides"] {
  const signals = readArray(
    value,
    field,
    (item, itemField) => readOneOf(item, itemField, STOP_SIGNALS),
  );
  const twice = signals.find((signal, index) => signals.indexOf(signal) !== index);
  if (twice !== undefined) throw new ShapeError(field, signals, "each stop signal at most once");
  return signals;
}

/**
 * Orders case names as {@link CASE_ORDER} does, unlisted names last by name; for `sort`.
 *
 * @example
 * ```ts
 * import { compareCaseNames } from "./cases.ts";
 * ["running", "zzz-new", "sigstop"].sort(compareCaseNames); // ["sigstop", "running", "zzz-new"]
 * ```
 */
export function compareCaseNames(a: string, b: string): number {
  const rank = (name: string) => {
    const index = CASE_ORDER.indexOf(name);
    return index === -1 ? CASE_ORDER.length : index;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}
