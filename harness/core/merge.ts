/**
 * Merging the results of the shards of one plan into one results file, refusing inputs that
 * do not belong together: another plan, other case definitions, the same shard or cell twice.
 *
 * @module
 */

import { dirname, isAbsolute, join, relative } from "node:path";
import { ConfinedPathError, regularFileInside } from "./confined_path.ts";
import { compareCaseNames } from "./cases.ts";
import { ARCHES, type CellResult, type ResultsFile, type RunInfo } from "./types.ts";
import { compareCpuModels, compareKernelNames, CRIU_VERSIONS, rankIn } from "./catalog.ts";
import { cellKey } from "./results.ts";
import { formatShard, parseShard } from "./shard.ts";
import { InputError } from "./errors.ts";

/** One results file to merge and where it came from (named in errors). */
export interface MergeInput {
  source: string;
  results: ResultsFile;
}

/** The merged file, and the shards of the plan that none of the inputs held. */
export interface MergeOutcome {
  results: ResultsFile;
  missingShards: string[];
}

/** Inputs that cannot be merged; the message names both inputs and what they disagree on. */
export class MergeError extends InputError {}

/**
 * Merges shard results: cells in catalog order (CRIU version, arch, kernel, case), the earliest
 * start, the latest finish (null if any input is unfinished), the union of shards. Triage is
 * copied as is; re-triage the merged file to apply current expectations. Throws
 * {@link MergeError} for an input without a `run` header, from another plan, with different
 * case definitions or shard counts, or holding a shard or cell another input holds.
 *
 * @example
 * ```ts ignore
 * import { mergeResults } from "./merge.ts";
 * const { results, missingShards } = mergeResults([
 *   { source: "out/shard-1", results: shard1 },
 *   { source: "out/shard-2", results: shard2 },
 * ]);
 * ```
 */
export function mergeResults(inputs: readonly MergeInput[]): MergeOutcome {
  if (inputs.length === 0) throw new MergeError("nothing to merge; pass one or more results");
  const runs = inputs.map(requireRunInfo);
  const [first] = inputs;
  const shardOwners = new Map<string, string>();
  const cellOwners = new Map<string, string>();
  const caseDefinitions = new Map<string, { hash: string; source: string }>();
  for (const [i, input] of inputs.entries()) {
    const run = runs[i];
    if (run.planId !== runs[0].planId) {
      throw new MergeError(
        `${first.source} and ${input.source} come from different plans (plan ids ${
          runs[0].planId
        } and ${run.planId}): run every shard with the same --arch, --criu, --case, --kernel and --cpu`,
      );
    }
    for (const [name, hash] of Object.entries(run.caseHashes)) {
      const known = caseDefinitions.get(name);
      if (known !== undefined && known.hash !== hash) {
        throw new MergeError(
          `${known.source} and ${input.source} ran different definitions of case "${name}" ` +
            `(hashes ${known.hash} and ${hash}): run every shard from the same commit`,
        );
      }
      caseDefinitions.set(name, known ?? { hash, source: input.source });
    }
    for (const shard of run.shards) {
      const count = parseShard(shard).count;
      const expected = parseShard(runs[0].shards[0]).count;
      if (count !== expected) {
        throw new MergeError(
          `${first.source} and ${input.source} split the plan differently (shard ${
            runs[0].shards[0]
          } and ${shard}): give every shard the same N in --shard K/N`,
        );
      }
      claim(shardOwners, shard, input.source, `shard ${shard}`);
    }
    for (const cell of input.results.cells) {
      claim(cellOwners, cellKey(cell), input.source, `cell ${cellKey(cell)}`);
    }
  }
  const count = parseShard(runs[0].shards[0]).count;
  const allShards = Array.from({ length: count }, (_, i) => formatShard({ index: i + 1, count }));
  const finished = inputs.map((input) => input.results.finishedAt);
  return {
    results: {
      tool: "criu-matrix",
      schemaVersion: 1,
      startedAt: inputs.map((input) => input.results.startedAt).toSorted()[0],
      finishedAt: finished.includes(null) ? null : finished.toSorted().at(-1)!,
      cells: inputs.flatMap((input) => structuredClone(input.results.cells)).toSorted(compareCells),
      run: {
        planId: runs[0].planId,
        shards: allShards.filter((shard) => shardOwners.has(shard)),
        caseHashes: Object.fromEntries(
          [...caseDefinitions].map(([name, { hash }]) => [name, hash]),
        ),
      },
    },
    missingShards: allShards.filter((shard) => !shardOwners.has(shard)),
  };
}

function requireRunInfo(input: MergeInput): RunInfo {
  if (input.results.run === undefined) {
    throw new MergeError(
      `${input.source} has no "run" header, so it cannot be checked against the other inputs: ` +
        `it comes from an interrupted run or an older criu-matrix; run it again`,
    );
  }
  return input.results.run;
}

/** Records `key` as held by `source`; throws naming both inputs when another holds it. */
function claim(owners: Map<string, string>, key: string, source: string, what: string): void {
  const owner = owners.get(key);
  if (owner !== undefined) {
    throw new MergeError(
      `${owner} and ${source} both hold ${what}: merge each shard once, from one run`,
    );
  }
  owners.set(key, source);
}

function compareCells(a: CellResult, b: CellResult): number {
  const versions = CRIU_VERSIONS.map((criu) => criu.version);
  return rankIn(versions, a.criu.version) - rankIn(versions, b.criu.version) ||
    rankIn(ARCHES, a.arch) - rankIn(ARCHES, b.arch) ||
    compareKernelNames(a.kernel.name, b.kernel.name) ||
    compareCpuModels(a.arch, a.cpu, b.cpu) ||
    compareCaseNames(a.case, b.case);
}

/**
 * Copies the log files `cells` refer to from a shard's directory to the merged one, at the same
 * relative paths, so the merged reports' links work. Logs missing from the shard are skipped.
 * Only regular files inside `fromDir` are copied, to new files inside `toDir`: a path leaving
 * either directory, a symbolic link (also a linked directory on the way) or a FIFO throws
 * {@link MergeError} naming it, since shard artifacts come from whoever ran the shard.
 *
 * @example
 * ```ts
 * import { copyCellLogs } from "./merge.ts";
 * import type { CellResult } from "./types.ts";
 * const shard = await Deno.makeTempDir();
 * const merged = await Deno.makeTempDir();
 * await Deno.mkdir(`${shard}/cells/vm/sigstop`, { recursive: true });
 * await Deno.writeTextFile(`${shard}/cells/vm/sigstop/criu-dump.log`, "(00.000) dump\n");
 * const logs = { dump: "cells/vm/sigstop/criu-dump.log", restore: null, console: null, agent: null };
 * await copyCellLogs(shard, merged, [{ logs } as CellResult]);
 * await Deno.readTextFile(`${merged}/cells/vm/sigstop/criu-dump.log`); // "(00.000) dump\n"
 * ```
 */
export async function copyCellLogs(
  fromDir: string,
  toDir: string,
  cells: readonly CellResult[],
): Promise<void> {
  const paths = new Set(
    cells.flatMap((cell) => Object.values(cell.logs).filter((log) => log !== null)),
  );
  const base = await Deno.realPath(toDir);
  for (const path of paths) {
    let source: string;
    try {
      source = regularFileInside(fromDir, path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      if (!(error instanceof ConfinedPathError)) throw error;
      throw new MergeError(`${fromDir}: log ${error.message}: refusing to merge this input`);
    }
    const target = join(toDir, path);
    await Deno.mkdir(dirname(target), { recursive: true });
    const targetDir = relative(base, await Deno.realPath(dirname(target)));
    if (targetDir.startsWith("..") || isAbsolute(targetDir)) {
      throw new MergeError(`${toDir}: ${dirname(path)} leads out of it through a link`);
    }
    // A link planted at the target is replaced, never followed: the file is created anew.
    await Deno.remove(target).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    using input = await Deno.open(source, { read: true });
    using output = await Deno.open(target, { write: true, createNew: true });
    await input.readable.pipeTo(output.writable, { preventClose: true });
  }
}
