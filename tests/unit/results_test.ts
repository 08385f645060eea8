import assert from "assert";
import { join } from "node:path";
import {
  cellKey,
  parseResults,
  readResults,
  ResultsFileError,
  ResultsWriter,
} from "../../harness/core/results.ts";
import { FIXTURE_RESULTS, makeCell } from "./results_fixture.ts";

function assertResultsFileError(text: string, ...fragments: string[]) {
  assert.throws(() => parseResults(text, "run/results.json"), (error: unknown) => {
    assert.ok(error instanceof ResultsFileError, `expected ResultsFileError, got ${error}`);
    assert.ok(error.message.startsWith("run/results.json: "), error.message);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}

/** mulberry32: a small seeded PRNG, so a failing input can be reproduced. */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random JSON value, biased towards the field names and values of results files. */
function randomJson(random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const words = ["tool", "criu-matrix", "schemaVersion", "cells", "verdict", "pass", "arch", ""];
  switch (Math.floor(random() * (depth > 3 ? 4 : 6))) {
    case 0:
      return pick([null, true, false]);
    case 1:
      return pick([0, 1, -1, 1.5, 1e308]);
    case 2:
      return pick(words);
    case 3:
      return String.fromCharCode(...Array.from({ length: 5 }, () => 32 + random() * 90));
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
    default:
      return Object.fromEntries(
        Array.from(
          { length: Math.floor(random() * 5) },
          () => [pick(words), randomJson(random, depth + 1)],
        ),
      );
  }
}

Deno.test("cellKey joins CRIU version, arch, kernel suite and case", () => {
  assert.equal(cellKey(makeCell({ case: "sigtstp" })), "3.17.1/x86_64/bookworm/sigtstp");
});

Deno.test("ResultsWriter", async (t) => {
  const dir = join(await Deno.makeTempDir(), "run");

  await t.step("creates the directory and a valid file with no cells", async () => {
    const writer = await ResultsWriter.create(dir, new Date(FIXTURE_RESULTS.startedAt));
    const results = await readResults(writer.path);
    assert.deepEqual(results, { ...FIXTURE_RESULTS, finishedAt: null, cells: [] });
  });

  await t.step("the file holds every cell after each add, even when adds overlap", async () => {
    const writer = await ResultsWriter.create(dir, new Date(FIXTURE_RESULTS.startedAt));
    await writer.add(FIXTURE_RESULTS.cells[0]);
    assert.deepEqual((await readResults(writer.path)).cells, [FIXTURE_RESULTS.cells[0]]);
    await Promise.all(FIXTURE_RESULTS.cells.slice(1).map((cell) => writer.add(cell)));
    const finished = await writer.finish(new Date(FIXTURE_RESULTS.finishedAt!));
    assert.deepEqual(finished, FIXTURE_RESULTS);
    // The final file is the caller's to write (once, triaged): the file holds every cell, unfinished.
    assert.deepEqual(await readResults(writer.path), { ...FIXTURE_RESULTS, finishedAt: null });
  });

  await t.step("leaves no temporary file behind", async () => {
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["results.json"]);
  });

  await t.step("replaces the file by rename, never rewriting it in place", async () => {
    const writer = await ResultsWriter.create(dir);
    const before = (await Deno.stat(writer.path)).ino;
    await writer.add(makeCell());
    assert.notEqual((await Deno.stat(writer.path)).ino, before);
  });

  await Deno.remove(join(dir, ".."), { recursive: true });
});

Deno.test("readResults", async (t) => {
  await t.step("names a missing file", async () => {
    await assert.rejects(
      readResults("/nonexistent/results.json"),
      (error: unknown) =>
        error instanceof ResultsFileError &&
        error.message.startsWith("/nonexistent/results.json: cannot read it"),
    );
  });

  await t.step("rejects a truncated file on disk", async () => {
    const path = await Deno.makeTempFile({ suffix: ".json" });
    const text = JSON.stringify(FIXTURE_RESULTS);
    await Deno.writeTextFile(path, text.slice(0, text.length / 2));
    await assert.rejects(
      readResults(path),
      (error: unknown) =>
        error instanceof ResultsFileError && error.message.includes(`${path}: not valid JSON`),
    );
    await Deno.remove(path);
  });

  await t.step("names the first bad field with its value and the accepted ones", () => {
    const withCell = (cell: unknown) => JSON.stringify({ ...FIXTURE_RESULTS, cells: [cell] });
    assertResultsFileError(
      withCell({ ...makeCell(), verdict: "ok" }),
      'field "cells[0].verdict"',
      '"ok"',
      '"pass", "fail", "error", "skip"',
    );
    assertResultsFileError(
      withCell({ ...makeCell(), dump: { exitCode: "1" } }),
      'field "cells[0].dump.exitCode"',
      "an integer, or null",
    );
    assertResultsFileError(
      JSON.stringify({ ...FIXTURE_RESULTS, schemaVersion: 2 }),
      'field "schemaVersion"',
      "accepted: 1",
    );
    assertResultsFileError("[]", "top-level value", "an object");
    assertResultsFileError(
      JSON.stringify({ ...FIXTURE_RESULTS, startedAt: "1" }),
      'field "startedAt"',
      "an ISO 8601 date-time string",
    );
    assertResultsFileError('{"tool":"criu-matrix"', "not valid JSON");
  });

  await t.step("never crashes and never yields cells on random or truncated input", () => {
    const random = seededRandom(20261127);
    const valid = JSON.stringify(FIXTURE_RESULTS, null, 2);
    for (let iteration = 0; iteration < 400; iteration++) {
      const inputs = [
        valid.slice(0, Math.floor(random() * valid.length)),
        JSON.stringify(randomJson(random)),
        Array.from({ length: 40 }, () => String.fromCharCode(random() * 128)).join(""),
      ];
      for (const input of inputs) {
        assert.throws(
          () => parseResults(input, "fuzz.json"),
          (error: unknown) => error instanceof ResultsFileError,
          `iteration ${iteration}: ${JSON.stringify(input).slice(0, 200)}`,
        );
      }
    }
  });
});
