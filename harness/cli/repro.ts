/**
 * `task repro DIR --cell ID`: its options and `--help` text, and the command that writes a
 * directory reproducing one cell of the run in DIR without criu-matrix (harness/run/repro.ts).
 * Every value is checked before anything is written.
 *
 * @module
 */

import { join } from "node:path";
import { escapeControls } from "../core/control_chars.ts";
import { InputError } from "../core/errors.ts";
import { cellKey, readResultsFrom } from "../core/results.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { checkReproducible, writeReproDir } from "../run/repro.ts";
import { safeName } from "../run/run_vm.ts";
import { formatUsage, HELP_SPEC, type OptionSpec, readRawValues } from "./options.ts";
import { ensureWritable } from "./writable.ts";

const REPRO_SPECS: readonly OptionSpec[] = [
  {
    name: "cell",
    value: "ID",
    help: "The cell to reproduce, as CRIU/ARCH/KERNEL/CASE, e.g. 4.1.1/x86_64/trixie/sigttin " +
      "(required; a bad one lists the run's cells).",
  },
  {
    name: "out",
    value: "DIR",
    help: "Where to write the repro directory; it must not exist yet. Default: " +
      "DIR/repro/CRIU_ARCH_KERNEL_CASE.",
  },
  HELP_SPEC,
];

/** The `--help` text of `task repro`. */
export const REPRO_USAGE: string = formatUsage(
  [
    "Usage: deno task repro DIR --cell ID [--out REPRO_DIR]",
    "",
    "Writes a directory that reproduces one cell of the run in DIR without criu-matrix: the",
    "kernel and initrd files its guest booted, the fixture programs, a replay of the commands",
    "the agent ran for the cell, a run.sh that boots it in QEMU, and a README.txt.",
  ],
  REPRO_SPECS,
);

/** Cells listed in an error about a bad --cell; the rest are counted. */
const CELLS_LISTED = 20;

/**
 * Runs `task repro ARGS` and resolves to its exit status (0). A bad DIR, --cell or --out is an
 * {@link InputError} naming the value and what is accepted, thrown before anything is written.
 *
 * @example
 * ```ts
 * import { reproCommand } from "./repro.ts";
 * await reproCommand(["--help"]); // 0, after printing the help
 * ```
 */
export async function reproCommand(args: string[]): Promise<number> {
  const { values, positionals } = readRawValues(args, REPRO_SPECS, "repro");
  if (values.has("help")) {
    console.log(REPRO_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new InputError(
      `repro: give one run directory (holding results.json), got ${positionals.length}: ` +
        `write e.g. deno task repro out/my-run --cell 4.1.1/x86_64/trixie/sigttin`,
    );
  }
  const [runDir] = positionals;
  const readable = await Deno.permissions.query({ name: "read", path: runDir });
  if (readable.state !== "granted") {
    throw new InputError(
      `repro: ${escapeControls(runDir)} is outside the directories task repro may read (the ` +
        "repository, /tmp, ~/.cache/criu-matrix); copy the run there, or run " +
        `harness/cli/main.ts with --allow-read=${escapeControls(runDir)}`,
    );
  }
  const isDir = await Deno.stat(runDir).then((info) => info.isDirectory, () => false);
  if (!isDir) {
    throw new InputError(
      `repro: "${escapeControls(runDir)}" is not a directory; give a run directory holding ` +
        "results.json (a task matrix --out)",
    );
  }
  const { results } = await readResultsFrom(runDir);
  const ids = results.cells.map(cellKey);
  const [id] = values.get("cell") ?? [];
  const cell = results.cells.find((candidate) => cellKey(candidate) === id);
  if (cell === undefined) {
    const listed = ids.slice(0, CELLS_LISTED).map(escapeControls).join(", ");
    const more = ids.length > CELLS_LISTED ? ` and ${ids.length - CELLS_LISTED} more` : "";
    throw new InputError(
      `repro: ${id === undefined ? "--cell ID is required" : `no cell "${escapeControls(id)}"`}` +
        ` in ${escapeControls(runDir)}; accepted: ${listed || "(the run has no cells)"}${more}`,
    );
  }
  const sources = checkReproducible(cell, defaultCacheDir());
  const [given] = values.get("out") ?? [];
  const outDir = given ?? join(runDir, "repro", safeName(id!.replaceAll("/", "_")));
  if (await Deno.lstat(outDir).then(() => true, () => false)) {
    throw new InputError(
      `repro: --out ${escapeControls(outDir)} already exists; give a directory that does not ` +
        "exist yet (a repro directory is written whole)",
    );
  }
  await ensureWritable(outDir, "repro: --out");
  await writeReproDir(cell, sources, outDir);
  console.log(`wrote ${outDir}: run it with sh ${join(outDir, "run.sh")} (see README.txt)`);
  return 0;
}
