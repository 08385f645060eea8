/**
 * Fuzz tests for every parser that reads a file (results, merge inputs, case files,
 * expectations), the matrix options, and the renderers: valid documents mutated at random
 * (seeded, so a failure repeats) with hostile values. Each input must be accepted and render
 * inert, or be refused with the parser's own error on one line; anything else (a crash, a
 * foreign exception, an unsafe report, a slow input) counts as mishandled. The counts are
 * printed; none may be mishandled.
 */
import assert from "assert";
import { parseMatrixOptions } from "../../harness/cli/matrix.ts";
import { CaseFileError, parseCaseDefinition } from "../../harness/core/cases.ts";
import { confineRelativePath } from "../../harness/core/confined_path.ts";
import { InputError } from "../../harness/core/errors.ts";
import { ExpectationsFileError, parseExpectations } from "../../harness/core/expectations.ts";
import { MergeError, mergeResults } from "../../harness/core/merge.ts";
import { parseResults, ResultsFileError } from "../../harness/core/results.ts";
import type { ResultsFile } from "../../harness/core/types.ts";
import { HOSTILE_STRINGS, reportProblems } from "./hostile_fixture.ts";
import { FIXTURE_RESULTS, makeCell } from "./results_fixture.ts";

/** Mulberry32: a small seeded generator, so every run tries the same inputs. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_VALUES: readonly unknown[] = [
  ...HOSTILE_STRINGS,
  "../../../../var/tmp/planted.txt",
  "/etc/passwd",
  "javascript:alert(1)",
  "//evil.example/x",
  "",
  " ",
  "a".repeat(5000),
  "1/5000000",
  "0/0",
  "************g",
  "zdtm:",
  "__proto__",
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53,
  true,
  false,
  null,
  [],
  {},
  [[[[[]]]]],
  { __proto__: { polluted: true } },
  { constructor: "x" },
];

/** Counts of what the fuzzing met. */
interface Tally {
  tried: number;
  accepted: number;
  refused: number;
  mishandled: string[];
}

type Json = unknown;

/** Every path into `value` (object keys and array indexes). */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value as Record<string, Json>);
  return [prefix, ...entries.flatMap(([key, item]) => pathsOf(item, [...prefix, key]))];
}

/** `value` with one to three random mutations: replace, delete, add a key, or break the text. */
function mutate(value: Json, next: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const copy = structuredClone(value) as Record<string, unknown>;
  let root: Json = copy;
  const count = 1 + Math.floor(next() * 3);
  for (let i = 0; i < count; i++) {
    const path = pick(pathsOf(root));
    const hostile = structuredClone(pick(HOSTILE_VALUES));
    if (path.length === 0) {
      root = hostile;
      continue;
    }
    const parent = path.slice(0, -1).reduce<Json>(
      (node, key) => (node as Record<string, Json>)[key],
      root,
    ) as Record<string | number, Json>;
    const key = path.at(-1)!;
    const action = next();
    if (action < 0.6) parent[key] = hostile;
    else if (action < 0.8) delete parent[key];
    else parent[typeof key === "number" ? key : `${key}Extra`] = hostile;
  }
  const text = JSON.stringify(root);
  // Now and then the text itself is broken: cut short or with a stray byte.
  const damage = next();
  if (damage < 0.05) return text.slice(0, Math.floor(next() * text.length));
  if (damage < 0.1) return text.replace(/,/, "\u0000,");
  return text;
}

/**
 * Runs `attempt` on an input; `refusal` tells the parser's own errors. A refusal must be one
 * line without control characters; an input must take less than a second.
 */
function classify(
  tally: Tally,
  label: string,
  attempt: () => void,
  refusal: (error: unknown) => boolean,
): void {
  tally.tried++;
  const started = performance.now();
  try {
    attempt();
    tally.accepted++;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // deno-lint-ignore no-control-regex -- a refusal is printed on the terminal
    if (refusal(error) && !/[\x00-\x1f\x7f]/.test(message) && message.length < 2000) {
      tally.refused++;
    } else {
      tally.mishandled.push(`${label}: ${error instanceof Error ? error.name : ""} ${message}`);
    }
  }
  const elapsed = performance.now() - started;
  if (elapsed > 1000) tally.mishandled.push(`${label}: took ${Math.round(elapsed)} ms`);
}

function report(name: string, tally: Tally): void {
  console.log(
    `${name}: ${tally.tried} inputs, ${tally.accepted} accepted, ${tally.refused} refused ` +
      `cleanly, ${tally.mishandled.length} mishandled`,
  );
  assert.deepEqual(tally.mishandled.slice(0, 5), [], `${name}: mishandled inputs`);
}

const newTally = (): Tally => ({ tried: 0, accepted: 0, refused: 0, mishandled: [] });
const RUNS = 500;

/** What an accepted results file must hold: confined log paths, an inert rendering. */
function checkAccepted(results: ResultsFile): void {
  for (const cell of results.cells) {
    for (const path of Object.values(cell.logs)) {
      if (path !== null && confineRelativePath(path) !== path) {
        throw new Error(`accepted log path ${path}`);
      }
    }
  }
  const problems = reportProblems(results);
  if (problems.length > 0) throw new Error(`unsafe report: ${problems.join("; ")}`);
}

const BASE_RESULTS: ResultsFile = {
  ...FIXTURE_RESULTS,
  cells: FIXTURE_RESULTS.cells.map((cell, index) => ({
    ...cell,
    logs: { dump: `cells/vm/c${index}/criu-dump.log`, restore: null, console: null, agent: null },
  })),
  run: { planId: "plan", shards: ["1/2"], caseHashes: { sigstop: "h1" } },
};

Deno.test("fuzz: results files", () => {
  const tally = newTally();
  const next = random(13);
  for (let i = 0; i < RUNS; i++) {
    const text = mutate(BASE_RESULTS, next);
    classify(
      tally,
      text.slice(0, 200),
      () => checkAccepted(parseResults(text, "fuzz.json")),
      (error) => error instanceof ResultsFileError,
    );
  }
  report("results files", tally);
});

Deno.test("fuzz: merge inputs", () => {
  const tally = newTally();
  const next = random(14);
  const other: ResultsFile = {
    ...BASE_RESULTS,
    cells: [makeCell({ arch: "aarch64" })],
    run: { planId: "plan", shards: ["2/2"], caseHashes: { sigstop: "h1" } },
  };
  for (let i = 0; i < RUNS; i++) {
    const text = mutate(BASE_RESULTS, next);
    classify(tally, text.slice(0, 200), () => {
      const input = parseResults(text, "fuzz.json");
      mergeResults([{ source: "a", results: input }, { source: "b", results: other }]);
    }, (error) => error instanceof ResultsFileError || error instanceof MergeError);
  }
  report("merge inputs", tally);
});

Deno.test("fuzz: case files", () => {
  const tally = newTally();
  const next = random(15);
  const base = {
    name: "fuzz",
    description: "a case",
    fixture: { threads: 2, handler: "none", pendingSignal: null },
    stop: { via: "kill", signal: "SIGSTOP" },
    dump: { leaveRunning: false, shellJob: false },
  };
  for (let i = 0; i < RUNS; i++) {
    const text = mutate(base, next);
    classify(
      tally,
      text.slice(0, 200),
      () => void parseCaseDefinition(text, "fuzz.json"),
      (error) => error instanceof CaseFileError,
    );
  }
  report("case files", tally);
});

Deno.test("fuzz: expectations", () => {
  const tally = newTally();
  const next = random(16);
  const base = {
    expectations: [
      { cases: ["sig*"], criu: ">=4.0", arch: "x86_64", verdict: "fail", reason: "r" },
      { cases: ["sigstop"], verdict: "fail", stage: "dump", kernel: "sid", reason: "r" },
    ],
  };
  const caseNames = ["sigstop", "sigtstp", "mt-sigstop", "a".repeat(60)];
  for (let i = 0; i < RUNS; i++) {
    const text = mutate(base, next);
    classify(
      tally,
      text.slice(0, 200),
      () => void parseExpectations(text, "fuzz.json", caseNames),
      (error) => error instanceof ExpectationsFileError,
    );
  }
  report("expectations", tally);
});

Deno.test("fuzz: matrix options", () => {
  const tally = newTally();
  const next = random(17);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const options = [
    "--arch",
    "--criu",
    "--case",
    "--kernel",
    "--cpu",
    "--jobs",
    "--out",
    "--timeout-scale",
    "--shard",
    "--rerun-failed",
    "--resume",
    "--list",
    "--bogus",
    "-h",
  ];
  const values = [
    ...HOSTILE_STRINGS,
    "x86_64",
    "3.17.1",
    "sigstop",
    "native",
    "aarch64=max",
    "1",
    "0",
    "65",
    "1e20",
    "1/30000000",
    "1/99999999999",
    "100000",
    "1e-10",
    "",
    "--out",
  ];
  for (let i = 0; i < RUNS; i++) {
    const args = Array.from({ length: 1 + Math.floor(next() * 4) }, () => [
      pick(options),
      pick(values),
    ]).flat();
    classify(
      tally,
      JSON.stringify(args),
      () => void parseMatrixOptions(args, { caseNames: ["sigstop", "sigtstp"] }),
      (error) => error instanceof InputError,
    );
  }
  report("matrix options", tally);
});

Deno.test("fuzz: renderers with hostile strings in every string field", () => {
  const tally = newTally();
  const next = random(18);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  for (let i = 0; i < RUNS; i++) {
    // Strings bypass parsing here: the renderers must be safe on their own.
    const results = structuredClone(BASE_RESULTS) as unknown;
    const paths = pathsOf(results).filter((path) => {
      const leaf = path.reduce<Json>((node, key) => (node as Record<string, Json>)[key], results);
      return typeof leaf === "string" && !["verdict", "stage", "arch", "status", "accel"]
        .includes(String(path.at(-1))) &&
        !["startedAt", "finishedAt"].includes(String(path[0]));
    });
    for (let j = 0; j < 3; j++) {
      const path = pick(paths);
      const parent = path.slice(0, -1).reduce<Json>(
        (node, key) => (node as Record<string, Json>)[key],
        results,
      ) as Record<string | number, Json>;
      parent[path.at(-1)!] = pick(HOSTILE_STRINGS) + pick(["", "x", "../../../x"]);
    }
    classify(
      tally,
      JSON.stringify(results).slice(0, 200),
      () => {
        const problems = reportProblems(results as ResultsFile);
        if (problems.length > 0) throw new Error(problems.join("; "));
      },
      () => false,
    );
  }
  report("renderers", tally);
});
