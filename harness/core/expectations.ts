/**
 * What is known to fail: `cases/expectations/expectations.json`, checked when loaded, and the
 * lookup of the expectation that covers a cell. Triage ({@link ./triage.ts}) uses it to tell a
 * known failure (`xfail`) from a new one.
 *
 * The file is `{ "expectations": [ENTRY, ...] }`; an ENTRY is
 * `{ "cases": [NAME or GLOB, ...], "criu"?: RANGE, "arch"?: ARCH, "kernel"?: SUITE,
 * "cpu"?: MODEL, "verdict": "fail", "stage"?: STAGE, "reason": TEXT }`. Absent optional fields match anything.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  type Arch,
  ARCHES,
  type CellResult,
  KERNEL_SUITES,
  type KernelSuite,
  type Stage,
  STAGES,
} from "./types.ts";
import {
  childField,
  readArray,
  readOneOf,
  readRecord,
  readString,
  rejectUnknownKeys,
  ShapeError,
} from "./json_shape.ts";
import {
  ACCEPTED_RANGE_FORMS,
  parseVersionRange,
  type RangeTerm,
  versionInRange,
} from "./version_range.ts";
import { InputFileError } from "./errors.ts";

/**
 * The committed expectations file. It lives in a subdirectory of `cases/` because
 * `loadCases` reads every `*.json` directly in `cases/` as a case.
 */
export const DEFAULT_EXPECTATIONS_FILE: URL = new URL(
  "../../cases/expectations/expectations.json",
  import.meta.url,
);

/** One validated entry: which cells are expected to fail, where, and why. */
export interface Expectation {
  /** Case names or globs (`*`, `?`) as written. */
  cases: string[];
  /** The CRIU version range as written, or null for every version. */
  criu: string | null;
  arch: Arch | null;
  kernel: KernelSuite | null;
  /** The QEMU CPU model exactly as the cells name it (`max,pauth-impdef=on`), or null for any. */
  cpu: string | null;
  verdict: "fail";
  /** The stage the failure happens at, or null for any stage. */
  stage: Exclude<Stage, null> | null;
  reason: string;
  /** `cases` compiled. */
  casePattern: RegExp;
  /** `criu` parsed, or null. */
  criuRange: RangeTerm[] | null;
}

/** An expectations file that cannot be read, is not JSON, or has a bad entry. */
export class ExpectationsFileError extends InputFileError {}

const ENTRY_KEYS = ["cases", "criu", "arch", "kernel", "cpu", "verdict", "stage", "reason"];
const CASE_GLOB_PATTERN = /^[a-z0-9*?]+(-[a-z0-9*?]+)*$/;
const MAX_GLOB_LENGTH = 100;
const MAX_GLOB_STARS = 4;

/**
 * Reads and validates an expectations file; every case name or glob must match one of
 * `caseNames`. Throws {@link ExpectationsFileError} naming the file, the entry and the field.
 *
 * @example
 * ```ts
 * import { loadExpectations } from "./expectations.ts";
 * import { loadCases } from "./cases.ts";
 * const cases = await loadCases();
 * const expectations = await loadExpectations(undefined, cases.map((c) => c.name));
 * expectations.length > 0; // true
 * ```
 */
export async function loadExpectations(
  file: string | URL = DEFAULT_EXPECTATIONS_FILE,
  caseNames: readonly string[],
): Promise<Expectation[]> {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ExpectationsFileError(path, `cannot read it (${(error as Error).message})`);
  }
  return parseExpectations(text, path, caseNames);
}

/**
 * Validates the text of an expectations file; `file` names it in errors.
 *
 * @example
 * ```ts
 * import { parseExpectations } from "./expectations.ts";
 * const text = JSON.stringify({ expectations: [
 *   { cases: ["sigttin"], verdict: "fail", stage: "dump", reason: "compel refuses SIGTTIN" },
 * ] });
 * parseExpectations(text, "expectations.json", ["sigstop", "sigttin"])[0].stage; // "dump"
 * ```
 */
export function parseExpectations(
  text: string,
  file: string,
  caseNames: readonly string[],
): Expectation[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ExpectationsFileError(
      file,
      `not valid JSON (${(error as Error).message}); fix the syntax`,
    );
  }
  try {
    const record = readRecord(value, "");
    rejectUnknownKeys(record, ["$comment", "expectations"], "");
    return readArray(
      record.expectations,
      "expectations",
      (entry, field) => readExpectation(entry, field, caseNames),
    );
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new ExpectationsFileError(
      file,
      `${error.message}. Fix the entry; its shape is Expectation in harness/core/expectations.ts`,
    );
  }
}

function readExpectation(value: unknown, field: string, caseNames: readonly string[]): Expectation {
  const record = readRecord(value, field);
  rejectUnknownKeys(record, ENTRY_KEYS, field);
  const at = (key: string) => childField(field, key);
  const optional = <T>(key: string, read: (value: unknown, field: string) => T): T | null =>
    record[key] === undefined ? null : read(record[key], at(key));
  const cases = readArray(
    record.cases,
    at("cases"),
    (item, itemField) => readCasePattern(item, itemField, caseNames),
  );
  if (cases.length === 0) {
    throw new ShapeError(at("cases"), [], `a non-empty list of case names or globs`);
  }
  const criu = optional("criu", readString);
  return {
    cases,
    criu,
    arch: optional("arch", (item, itemField) => readOneOf(item, itemField, ARCHES)),
    kernel: optional("kernel", (item, itemField) => readOneOf(item, itemField, KERNEL_SUITES)),
    cpu: optional("cpu", (item, itemField) => readString(item, itemField, { nonEmpty: true })),
    verdict: readOneOf(record.verdict, at("verdict"), ["fail"]),
    stage: optional("stage", (item, itemField) => readOneOf(item, itemField, STAGES)),
    reason: readString(record.reason, at("reason"), { nonEmpty: true }),
    casePattern: new RegExp(`^(?:${cases.map(globToRegExpSource).join("|")})$`),
    criuRange: criu === null ? null : readRange(criu, at("criu")),
  };
}

function readCasePattern(value: unknown, field: string, caseNames: readonly string[]): string {
  const pattern = readString(value, field, { nonEmpty: true });
  // A run of stars means one star; more than a few make matching cost grow exponentially.
  if (
    !CASE_GLOB_PATTERN.test(pattern) || pattern.length > MAX_GLOB_LENGTH ||
    /\*\*/.test(pattern) || (pattern.match(/\*/g)?.length ?? 0) > MAX_GLOB_STARS
  ) {
    throw new ShapeError(
      field,
      pattern,
      `a case name, or a glob of one with * and ? (at most ${MAX_GLOB_LENGTH} characters and ` +
        `${MAX_GLOB_STARS} stars, never two in a row)`,
    );
  }
  const regexp = new RegExp(`^${globToRegExpSource(pattern)}$`);
  if (!caseNames.some((name) => regexp.test(name))) {
    throw new ShapeError(field, pattern, `a name or glob matching a case: ${caseNames.join(", ")}`);
  }
  return pattern;
}

function readRange(text: string, field: string): RangeTerm[] {
  try {
    return parseVersionRange(text);
  } catch {
    throw new ShapeError(field, text, ACCEPTED_RANGE_FORMS);
  }
}

/** `mt-*` → `mt-.*`; case-name characters need no escaping besides the glob ones. */
function globToRegExpSource(glob: string): string {
  return glob.replaceAll("*", ".*").replaceAll("?", ".");
}

/**
 * The first expectation covering the cell's case, CRIU version, arch, kernel and CPU model (a cell
 * that names none matches only entries without `cpu`; the stage is
 * not compared here: a failure at another stage is still covered, but not as expected).
 *
 * @example
 * ```ts
 * import { findExpectation, parseExpectations } from "./expectations.ts";
 * const expectations = parseExpectations(
 *   '{"expectations":[{"cases":["sigtt*"],"verdict":"fail","reason":"refused"}]}',
 *   "expectations.json",
 *   ["sigttin", "sigttou"],
 * );
 * findExpectation(
 *   { case: "sigttou", criu: { version: "4.3" }, arch: "x86_64", kernel: { name: "sid" } },
 *   expectations,
 * )?.reason; // "refused"
 * ```
 */
export function findExpectation(
  cell: {
    case: string;
    criu: Pick<CellResult["criu"], "version">;
    arch: Arch;
    kernel: Pick<CellResult["kernel"], "name">;
    cpu?: string;
  },
  expectations: readonly Expectation[],
): Expectation | undefined {
  return expectations.find((expectation) =>
    expectation.casePattern.test(cell.case) &&
    (expectation.criuRange === null || versionInRange(cell.criu.version, expectation.criuRange)) &&
    (expectation.arch === null || expectation.arch === cell.arch) &&
    (expectation.kernel === null || expectation.kernel === cell.kernel.name) &&
    (expectation.cpu === null || expectation.cpu === cell.cpu)
  );
}
