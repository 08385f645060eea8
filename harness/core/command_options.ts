/**
 * What each command was asked to do, validated and with defaults filled in: the options the
 * CLI parses (harness/cli/) and the layers below it read.
 *
 * @module
 */

import type { CiFormat } from "./ci_matrix.ts";
import type { ShardSpec } from "./shard.ts";
import type { Arch, CriuSpec, KernelSpec } from "./types.ts";

/**
 * `native`: each CRIU version boots the kernel of its own suite; any other kernel (a suite, a
 * Debian package version, a local kernel): that kernel under every version (of its arch).
 */
export type KernelChoice = "native" | KernelSpec;

/** Which cells a plan holds: the options `task matrix` and `task plan` share. */
export interface SelectionOptions {
  arches: Arch[];
  criu: CriuSpec[];
  /** Case names, in the order given. */
  cases: string[];
  kernels: KernelChoice[];
  /**
   * The QEMU CPU models per arch (one VM each), with any `,property=value` suffix; for an arch
   * whose models `--cpu` did not name, the catalog's `CPU_MODELS[arch].matrix` itself, so that
   * the plan applies the default matrix's `matrixSkips`.
   */
  cpu: Record<Arch, readonly string[]>;
}

/** What `task matrix` was asked to do, validated and with defaults filled in. */
export interface MatrixOptions extends SelectionOptions {
  jobs: number;
  outDir: string;
  /** Multiplies every guest and CRIU timeout; > 1 for slow hosts (TCG). */
  timeoutScale: number;
  /** A previous run's directory or results.json to compare with, or null. */
  baseline: string | null;
  /** The one shard of the plan to run, or null for all of it. */
  shard: ShardSpec | null;
  /** A previous run's directory whose finished cells are kept; only the missing ones run. */
  resume: string | null;
  /** A CRIU source tree whose zdtm static tests `--case zdtm:NAME` runs, or null. */
  zdtm: string | null;
  /** How many times a failed or errored cell is run again, each time in a fresh VM. */
  rerunFailed: number;
  list: boolean;
  help: boolean;
}

/** What `task plan` was asked to print. */
export interface PlanOptions extends SelectionOptions {
  /** Shards asked for; the plan prints no more than there are VMs. */
  shards: number;
  format: CiFormat;
  help: boolean;
}

/** What `task merge` was asked to merge, and where to. */
export interface MergeOptions {
  /** Shard run directories or results.json files, in the order given. */
  inputs: string[];
  outDir: string;
  baseline: string | null;
  /** Where readers find the merged index.html, for the CI summary; null when not given. */
  reportUrl: string | null;
  help: boolean;
}

/** A regression: the first commit that fails a cell that passed; a fix: the first that passes. */
export type BisectDirection = "regression" | "fix";

/**
 * What `task bisect` was asked to find: the first commit of a CRIU git repository after `from`
 * (an ancestor of `to`) at which one cell (this case, arch, kernel and CPU model) has another
 * verdict than at `from`.
 */
export interface BisectOptions {
  /** The CRIU git repository, as given; it is only read (the bisect runs in a worktree). */
  repo: string;
  /** The revision whose verdict the bisect starts from (`--from`, or `--good`). */
  from: string;
  /** A later revision with the other verdict (`--to`, or `--bad`). */
  to: string;
  /**
   * What to find: `regression` (`--from` passes, `--to` fails), `fix` (the other way round), or
   * `either` (whichever the verdict of `--from` says).
   */
  find: BisectDirection | "either";
  /** How each commit is compiled (`--build-flags`): `criu` or `debian-SUITE`. */
  buildFlags: string;
  /** True when given as `--good`/`--bad` (messages then name those options). */
  legacyNames: boolean;
  case: string;
  arch: Arch;
  kernel: KernelChoice;
  /** The QEMU CPU model per arch (only `arch`'s is used), with any `,property=value` suffix. */
  cpu: Record<Arch, string>;
  timeoutScale: number;
  outDir: string;
  help: boolean;
}
