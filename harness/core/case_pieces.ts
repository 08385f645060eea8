/**
 * The optional pieces of a case that shape its CRIU flow rather than its fixture: restore
 * options, iterations, namespaces, a cgroup, a tracer, per-case timeouts (see
 * {@link CaseDefinition}). Each is read from its own field of a case file; absent fields keep
 * today's flow, so a new combination is a new file.
 *
 * @module
 */
import { CASE_NAMESPACES, type CaseDefinition, type CaseNamespace, TRACER_MODES } from "./types.ts";
import {
  childField,
  readArray,
  readBoolean,
  readNumber,
  readOneOf,
  readRecord,
  rejectUnknownKeys,
  ShapeError,
} from "./json_shape.ts";

/** The fields of a case file this module reads. */
export const PIECE_FIELDS = [
  "restore",
  "iterations",
  "namespaces",
  "cgroup",
  "tracer",
  "timeouts",
] as const;

/** The pieces of one case, as {@link CaseDefinition} holds them. */
export type CasePieces = Pick<CaseDefinition, typeof PIECE_FIELDS[number]>;

/** A dump option a piece needs, read by {@link readDumpPieces}. */
export type DumpPieces = Pick<CaseDefinition["dump"], "freezeCgroup" | "preDump" | "seizeTimeout">;

/**
 * Reads the optional dump options of a `dump` record (`freezeCgroup`, `preDump`, `seizeTimeout`
 * in whole seconds, 1 to 60), leaving out those absent.
 *
 * @example
 * ```ts
 * import { readDumpPieces } from "./case_pieces.ts";
 * readDumpPieces({ preDump: true }, "dump"); // { preDump: true }
 * readDumpPieces({ seizeTimeout: 3 }, "dump"); // { seizeTimeout: 3 }
 * ```
 */
export function readDumpPieces(record: Record<string, unknown>, field: string): DumpPieces {
  const pieces: DumpPieces = {};
  for (const key of ["freezeCgroup", "preDump"] as const) {
    if (record[key] !== undefined) pieces[key] = readBoolean(record[key], childField(field, key));
  }
  if (record.seizeTimeout !== undefined) {
    pieces.seizeTimeout = readNumber(record.seizeTimeout, childField(field, "seizeTimeout"), {
      integer: true,
      min: 1,
      max: 60,
    });
  }
  return pieces;
}

/**
 * Reads the pieces of a case file's top-level record and checks that they fit together and with
 * its `dump` options. Throws a {@link ShapeError} naming the field.
 *
 * @example
 * ```ts
 * import { readCasePieces } from "./case_pieces.ts";
 * const dump = { leaveRunning: false, shellJob: false };
 * readCasePieces({ namespaces: ["pid"], iterations: 2 }, dump);
 * // { iterations: 2, namespaces: ["pid"] }
 * ```
 */
export function readCasePieces(
  record: Record<string, unknown>,
  dump: CaseDefinition["dump"],
): CasePieces {
  const pieces: CasePieces = {};
  if (record.restore !== undefined) pieces.restore = readRestore(record.restore, "restore");
  if (record.iterations !== undefined) {
    pieces.iterations = readNumber(record.iterations, "iterations", {
      integer: true,
      min: 1,
      max: 3,
    });
  }
  if (record.namespaces !== undefined) {
    pieces.namespaces = readNamespaces(record.namespaces, "namespaces");
  }
  if (record.cgroup !== undefined) {
    const cgroup = readRecord(record.cgroup, "cgroup");
    rejectUnknownKeys(cgroup, ["frozen"], "cgroup");
    pieces.cgroup = { frozen: readBoolean(cgroup.frozen, "cgroup.frozen") };
  }
  if (record.tracer !== undefined) pieces.tracer = readOneOf(record.tracer, "tracer", TRACER_MODES);
  if (record.timeouts !== undefined) pieces.timeouts = readTimeouts(record.timeouts, "timeouts");
  checkFit(pieces, dump);
  return pieces;
}

function readRestore(value: unknown, field: string): NonNullable<CasePieces["restore"]> {
  const record = readRecord(value, field);
  rejectUnknownKeys(record, ["leaveStopped", "sibling"], field);
  return {
    leaveStopped: readBoolean(record.leaveStopped, childField(field, "leaveStopped")),
    sibling: readBoolean(record.sibling, childField(field, "sibling")),
  };
}

function readNamespaces(value: unknown, field: string): CaseNamespace[] {
  const names = readArray(value, field, (item, at) => readOneOf(item, at, CASE_NAMESPACES));
  const unique = new Set(names);
  if (names.length === 0 || unique.size !== names.length) {
    throw new ShapeError(field, names, `each of ${CASE_NAMESPACES.join(", ")} at most once`);
  }
  // A user or mount namespace alone would leave the tree's root without an init of its own.
  if (!unique.has("pid")) throw new ShapeError(field, names, `a list holding "pid"`);
  return CASE_NAMESPACES.filter((name) => unique.has(name));
}

function readTimeouts(value: unknown, field: string): NonNullable<CasePieces["timeouts"]> {
  const record = readRecord(value, field);
  rejectUnknownKeys(record, ["dump", "restore"], field);
  const seconds = (key: "dump" | "restore") =>
    readNumber(record[key], childField(field, key), { integer: true, min: 5, max: 600 });
  return { dump: seconds("dump"), restore: seconds("restore") };
}

/** Options that make no sense together are refused, naming the field that conflicts. */
function checkFit(pieces: CasePieces, dump: CaseDefinition["dump"]): void {
  if (dump.freezeCgroup && !pieces.cgroup) {
    throw new ShapeError("dump.freezeCgroup", true, "false unless the case has a cgroup");
  }
  if (dump.leaveRunning) {
    for (const field of ["restore", "iterations"] as const) {
      if (pieces[field] !== undefined) {
        throw new ShapeError(field, pieces[field], "absent with dump.leaveRunning (no restore)");
      }
    }
  }
  if (dump.shellJob && pieces.namespaces) {
    throw new ShapeError("namespaces", pieces.namespaces, "absent with dump.shellJob");
  }
}
