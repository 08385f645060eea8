/**
 * The command lines of `task matrix`, `task plan`, `task merge` and `task bisect`: parsing,
 * validation against the catalog and the loaded cases, the `--help` texts and the `--list`
 * listing.
 *
 * @module
 */

import { parseArgs } from "cli-args";
import { alignColumns } from "../reports/terminal.ts";
import {
  ARCHES,
  CPU_MODELS,
  cpuBaseModel,
  CRIU_VERSIONS,
  findCriu,
  KERNEL_SERIES,
  KERNEL_SUITES,
  nativeKernelSuite,
} from "./catalog.ts";
import { CI_FORMATS, type CiFormat } from "./ci_matrix.ts";
import { BISECT_EXIT_CODES, formatExitCodes } from "./exit_codes.ts";
import { parseShard, type ShardSpec } from "./shard.ts";
import type { Arch, CaseDefinition, CriuSpec, KernelSpec, KernelSuite } from "./types.ts";

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
  /** The QEMU CPU model per arch, with any `,property=value` suffix. */
  cpu: Record<Arch, string>;
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
  help: boolean;
}

/**
 * What `task bisect` was asked to find: the first commit of a CRIU git repository between `good`
 * and `bad` at which one cell (this case, arch, kernel and CPU model) stops passing.
 */
export interface BisectOptions {
  /** The CRIU git repository, as given; it is only read (the bisect runs in a worktree). */
  repo: string;
  /** A revision whose CRIU passes the cell. */
  good: string;
  /** A later revision whose CRIU fails it. */
  bad: string;
  case: string;
  arch: Arch;
  kernel: KernelChoice;
  /** The QEMU CPU model per arch (only `arch`'s is used), with any `,property=value` suffix. */
  cpu: Record<Arch, string>;
  timeoutScale: number;
  outDir: string;
  help: boolean;
}

/** What parsing needs to know beyond the arguments; `now` and `cores` exist for tests. */
export interface MatrixOptionsContext {
  /** The names of the loaded cases, which `--case` accepts. */
  caseNames: readonly string[];
  /** Names the default output directory; defaults to the current time. */
  now?: Date;
  /** The default for `--jobs`; defaults to `navigator.hardwareConcurrency`. */
  cores?: number;
  /**
   * `--criu` items that are not Debian versions or suites (source trees, patches, binaries),
   * already checked by the caller, with the CRIU each stands for.
   */
  customCriu?: Readonly<Record<string, CriuSpec>>;
  /** `--kernel` items that are package versions or local kernels, already checked by the caller. */
  customKernels?: Readonly<Record<string, KernelSpec>>;
}

/** A mistake on the command line. The message is what the user sees; the CLI exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

interface OptionSpec {
  name: string;
  /** Placeholder shown in help; absent for flags. */
  value?: string;
  /** An option given several times adds up (lists) instead of being an error. */
  repeatable?: boolean;
  short?: string;
  help: string;
}

const CPU_SPEC: OptionSpec = {
  name: "cpu",
  value: "ARCH=MODEL",
  repeatable: true,
  help: "QEMU CPU model of one arch, repeatable, e.g. --cpu aarch64=max,pauth-impdef=on.",
};
const TIMEOUT_SCALE_SPEC: OptionSpec = {
  name: "timeout-scale",
  value: "F",
  help: "Multiply every timeout by F (a positive number). Default: 1.",
};

const SELECTION_SPECS: readonly OptionSpec[] = [
  {
    name: "arch",
    value: "LIST",
    repeatable: true,
    help: `Guest arches: ${ARCHES.join(", ")}. Default: all.`,
  },
  {
    name: "criu",
    value: "LIST",
    repeatable: true,
    help: "CRIU versions or the suites that ship them (see --list); or a CRIU source tree " +
      "(built per arch), a tree plus patches (DIR+fix.patch), or a binary (PATH, or " +
      "x86_64=PATH,aarch64=PATH). Default: all Debian versions.",
  },
  {
    name: "case",
    value: "NAMES",
    repeatable: true,
    help: "Cases to run (see --list). Default: all.",
  },
  {
    name: "kernel",
    value: "LIST",
    repeatable: true,
    help: "native (each CRIU version boots its own suite's kernel), or kernels to put under " +
      "every version: Debian suites (see --list), Debian cloud kernel package versions " +
      "(e.g. 6.1.176-1), or a kernel you built (IMAGE or IMAGE+MODULES_DIR). Default: native.",
  },
  CPU_SPEC,
];

const BASELINE_SPEC: OptionSpec = {
  name: "baseline",
  value: "PATH",
  help: "A previous run's directory or results.json: its passing cells that fail now are " +
    "regressions.",
};
const HELP_SPEC: OptionSpec = { name: "help", short: "h", help: "Show this help, then exit." };

const MATRIX_SPECS: readonly OptionSpec[] = [
  ...SELECTION_SPECS,
  { name: "jobs", value: "N", help: "VMs run in parallel. Default: the number of cores." },
  { name: "out", value: "DIR", help: "Output directory. Default: out/<UTC time>." },
  TIMEOUT_SCALE_SPEC,
  BASELINE_SPEC,
  {
    name: "shard",
    value: "K/N",
    help: "Run only shard K of N (whole VMs, balanced by cost; see task plan). Default: all.",
  },
  {
    name: "zdtm",
    value: "DIR",
    help: "A CRIU source tree (or release tarball, unpacked): --case zdtm:NAME runs its " +
      "test/zdtm/static/NAME test, built static for each arch.",
  },
  {
    name: "resume",
    value: "DIR",
    help: "Continue an interrupted run in DIR: keep its finished cells, run only the missing " +
      "ones (same options as the first run).",
  },
  {
    name: "rerun-failed",
    value: "N",
    help: "Run failed and errored cells up to N more times, each in a fresh VM; every attempt " +
      "is reported, and a cell whose verdict changes is flaky. Default: 0.",
  },
  { name: "list", help: "List cases, CRIU versions, arches, kernels and CPU models, then exit." },
  HELP_SPEC,
];

const PLAN_SPECS: readonly OptionSpec[] = [
  ...SELECTION_SPECS,
  {
    name: "shards",
    value: "N",
    help: "Split the plan into N shards (fewer if there are fewer VMs). Default: 1.",
  },
  {
    name: "format",
    value: "FORMAT",
    help: "github (strategy.matrix JSON), gitlab (parallel:matrix YAML) or json (shards with " +
      "their VMs). Default: json.",
  },
  HELP_SPEC,
];

const MERGE_SPECS: readonly OptionSpec[] = [
  {
    name: "out",
    value: "DIR",
    help: "Where to write the merged results.json and reports (required).",
  },
  BASELINE_SPEC,
  HELP_SPEC,
];

const BISECT_SPECS: readonly OptionSpec[] = [
  {
    name: "case",
    value: "NAME",
    help: "The one case to run at each commit (see task matrix --list). Required.",
  },
  {
    name: "good",
    value: "REV",
    help: "A revision of --repo whose CRIU passes the case (checked first). Required.",
  },
  {
    name: "bad",
    value: "REV",
    help: "A later revision whose CRIU fails it (checked first). Required.",
  },
  {
    name: "repo",
    value: "DIR",
    help: "The CRIU git repository; it is left as it is: the bisect runs in a temporary " +
      "worktree. Required.",
  },
  { name: "arch", value: "ARCH", help: `One guest arch: ${ARCHES.join(" or ")}. Default: x86_64.` },
  {
    name: "kernel",
    value: "KERNEL",
    help: "native (the kernel of bookworm, the guest a source-built CRIU runs in), or one " +
      "kernel as task matrix takes it: a Debian suite, a Debian cloud kernel package version " +
      "or a kernel you built (IMAGE or IMAGE+MODULES_DIR). Default: native.",
  },
  CPU_SPEC,
  TIMEOUT_SCALE_SPEC,
  {
    name: "out",
    value: "DIR",
    help: "Output directory (bisect.json, one results directory per tested commit). " +
      "Default: out/bisect-<UTC time>.",
  },
  {
    name: "step",
    value: "FILE",
    help: "Internal, what git bisect run runs: the cell of the request FILE on the commit " +
      "checked out in its worktree; exits 0 pass, 1 fail, 125 anything else.",
  },
  HELP_SPEC,
];

function formatUsage(
  heading: string[],
  specs: readonly OptionSpec[],
  footer: string[] = [],
): string {
  return [
    ...heading,
    "",
    alignColumns(
      specs.map((spec) => [
        [spec.short ? `-${spec.short},` : "", `--${spec.name}`, spec.value].filter(Boolean).join(
          " ",
        ),
        spec.help,
      ]),
      { indent: "  " },
    ),
    ...footer,
  ].join("\n");
}

/** The `--help` text of `task matrix`. */
export const MATRIX_USAGE: string = formatUsage(
  [
    "Usage: deno task matrix [OPTIONS]",
    "",
    "Checkpoints and restores stopped processes with several CRIU versions in QEMU VMs.",
    "Lists are comma-separated; duplicates are dropped, order is kept. Cells are triaged against",
    "cases/expectations/expectations.json and any --baseline; unexpected cells are named at the end.",
  ],
  MATRIX_SPECS,
  ["", formatExitCodes()],
);

/** The `--help` text of `task plan`. */
export const PLAN_USAGE: string = formatUsage(
  [
    "Usage: deno task plan [OPTIONS]",
    "",
    "Prints the shards of the matrix the same options would run, as a CI job matrix; run each",
    "with task matrix --shard K/N and the same selection options.",
  ],
  PLAN_SPECS,
);

/** The `--help` text of `task merge`. */
export const MERGE_USAGE: string = formatUsage(
  [
    "Usage: deno task merge --out DIR [--baseline PATH] INPUT...",
    "",
    "Merges the results of the shards of one plan (each INPUT a run directory or its",
    "results.json) into DIR/results.json, triages them again and writes every report.",
    "Refuses inputs from different plans or case definitions, or holding the same cell.",
  ],
  MERGE_SPECS,
  ["", formatExitCodes()],
);

/** The `--help` text of `task bisect`. */
export const BISECT_USAGE: string = formatUsage(
  [
    "Usage: deno task bisect --case NAME --good REV --bad REV --repo DIR [OPTIONS]",
    "",
    "Finds the first commit of a CRIU git repository at which one cell stops passing: checks",
    "that --good passes and --bad fails, then drives git bisect run in a temporary worktree,",
    "building CRIU at each commit (cached by commit) and running the case in a VM. A commit",
    "whose cell is error or skip, or whose CRIU does not build, is skipped, never good or bad.",
  ],
  BISECT_SPECS,
  ["", formatExitCodes(BISECT_EXIT_CODES, "Exit status:")],
);

/**
 * Parses the arguments of `task matrix` (without the `matrix` word). Throws
 * {@link UsageError} naming the option, the bad value and the accepted values.
 *
 * @example
 * ```ts
 * import { parseMatrixOptions } from "./options.ts";
 * const options = parseMatrixOptions(["--arch", "aarch64", "--criu", "trixie", "--jobs", "2"], {
 *   caseNames: ["sigstop", "sigtstp"],
 * });
 * options.criu[0].version; // "4.1.1"
 * options.cases; // ["sigstop", "sigtstp"]
 * ```
 */
export function parseMatrixOptions(args: string[], context: MatrixOptionsContext): MatrixOptions {
  const { values } = readRawValues(args, MATRIX_SPECS, "matrix");
  const shard = values.get("shard")?.[0];
  return {
    ...readSelection(values, context.caseNames, context.customCriu, context.customKernels),
    zdtm: parsePath("zdtm", values.get("zdtm")?.[0]),
    jobs: parseJobs(values.get("jobs")?.[0], context.cores ?? navigator.hardwareConcurrency),
    outDir: parseOut(values.get("out")?.[0], context.now ?? new Date()),
    timeoutScale: parseTimeoutScale(values.get("timeout-scale")?.[0]),
    baseline: parsePath("baseline", values.get("baseline")?.[0]),
    shard: shard === undefined ? null : withOption("shard", () => parseShard(shard)),
    resume: parsePath("resume", values.get("resume")?.[0]),
    rerunFailed: parseCount("rerun-failed", values.get("rerun-failed")?.[0]),
    list: values.has("list"),
    help: values.has("help"),
  };
}

/**
 * Parses the arguments of `task plan` (without the `plan` word): the selection options of
 * `task matrix`, `--shards N` and `--format`. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parsePlanOptions } from "./options.ts";
 * const options = parsePlanOptions(["--shards", "4", "--format", "github"], {
 *   caseNames: ["sigstop"],
 * });
 * options.shards; // 4
 * ```
 */
export function parsePlanOptions(
  args: string[],
  context: Pick<MatrixOptionsContext, "caseNames" | "customKernels">,
): PlanOptions {
  const { values } = readRawValues(args, PLAN_SPECS, "plan");
  const shards = values.get("shards")?.[0];
  return {
    ...readSelection(values, context.caseNames, {}, context.customKernels),
    shards: shards === undefined ? 1 : parsePositiveInteger("shards", shards, "1"),
    format: parseChoice("format", values.get("format")?.[0] ?? "json", CI_FORMATS),
    help: values.has("help"),
  };
}

/**
 * Parses the arguments of `task merge` (without the `merge` word). `--out` and at least one
 * input are required unless `--help` is given. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseMergeOptions } from "./options.ts";
 * parseMergeOptions(["--out", "out/all", "out/s1", "out/s2"]).inputs; // ["out/s1", "out/s2"]
 * ```
 */
export function parseMergeOptions(args: string[]): MergeOptions {
  const { values, positionals } = readRawValues(args, MERGE_SPECS, "merge");
  const help = values.has("help");
  const outDir = values.get("out")?.[0];
  if (!help && (outDir === undefined || positionals.length === 0)) {
    throw new UsageError(
      `merge: ${
        outDir === undefined ? "--out DIR is required" : "no inputs given"
      }; write e.g. deno task merge --out out/merged out/shard-1 out/shard-2`,
    );
  }
  return {
    inputs: dedupe(positionals),
    outDir: outDir === undefined ? "" : parseOut(outDir, new Date()),
    baseline: parsePath("baseline", values.get("baseline")?.[0]),
    help,
  };
}

/**
 * Parses the arguments of `task bisect` (without the `bisect` word). One cell: `--arch`,
 * `--kernel` and `--case` each take one value, never a list. `--case`, `--good`, `--bad` and
 * `--repo` are required unless `--help` is given. `--step` (internal) is routed before parsing,
 * by the CLI. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseBisectOptions } from "./options.ts";
 * const options = parseBisectOptions(
 *   ["--case", "sigttin", "--good", "v4.0", "--bad", "v4.1", "--repo", "../criu"],
 *   { caseNames: ["sigttin", "sigstop"] },
 * );
 * options.arch; // "x86_64"
 * options.kernel; // "native"
 * ```
 */
export function parseBisectOptions(
  args: string[],
  context: Pick<MatrixOptionsContext, "caseNames" | "now" | "customKernels">,
): BisectOptions {
  const { values } = readRawValues(args, BISECT_SPECS, "bisect");
  const help = values.has("help");
  const required = ["case", "good", "bad", "repo"];
  const missing = required.filter((name) => !values.has(name));
  if (!help && missing.length > 0) {
    throw new UsageError(
      `bisect: ${missing.map((name) => `--${name}`).join(", ")} ${
        missing.length === 1 ? "is" : "are"
      } required; write e.g. deno task bisect --case sigttin --good v4.0 --bad v4.1 ` +
        `--repo ../criu`,
    );
  }
  const arch = parseOne("arch", values.get("arch")?.[0] ?? "x86_64", ARCHES);
  const customKernels = context.customKernels ?? {};
  checkLocalKernelArches(customKernels, [arch]);
  const text = (name: string) => values.get(name)?.[0] ?? "";
  for (const name of ["good", "bad", "repo"]) {
    if (values.has(name) && text(name).trim() === "") {
      throw new UsageError(
        `--${name}: empty value ""; accepted: ${
          name === "repo" ? "the directory of a CRIU git checkout" : "a commit, tag or branch"
        }`,
      );
    }
  }
  return {
    repo: text("repo"),
    good: text("good"),
    bad: text("bad"),
    case: values.has("case") ? parseOne("case", text("case"), context.caseNames) : "",
    arch,
    kernel: kernelChoice(
      parseOne("kernel", values.get("kernel")?.[0] ?? "native", kernelNames(customKernels)),
      customKernels,
    ),
    cpu: parseCpuModels(values.get("cpu") ?? []),
    timeoutScale: parseTimeoutScale(values.get("timeout-scale")?.[0]),
    outDir: parseOut(values.get("out")?.[0], context.now ?? new Date(), "bisect-"),
    help,
  };
}

function readSelection(
  values: Map<string, string[]>,
  caseNames: readonly string[],
  customCriu: Readonly<Record<string, CriuSpec>> = {},
  customKernels: Readonly<Record<string, KernelSpec>> = {},
): SelectionOptions {
  const cpu = parseCpuModels(values.get("cpu") ?? []);
  const criuNames = parseList(
    "criu",
    values.get("criu"),
    [...CRIU_VERSIONS.flatMap((c) => [c.version, c.suite]), ...Object.keys(customCriu)],
  );
  const arches = parseList("arch", values.get("arch"), ARCHES);
  checkLocalKernelArches(customKernels, arches);
  return {
    arches,
    criu: dedupe(criuNames.map((name) => findCriu(name) ?? customCriu[name])),
    cases: parseList("case", values.get("case"), caseNames),
    kernels: parseList("kernel", values.get("kernel") ?? ["native"], kernelNames(customKernels))
      .map((name) => kernelChoice(name, customKernels)),
    cpu,
  };
}

/** What `--kernel` accepts: `native`, the suites and the package versions or local kernels given. */
function kernelNames(customKernels: Readonly<Record<string, KernelSpec>>): string[] {
  return ["native", ...KERNEL_SUITES, ...Object.keys(customKernels)];
}

/** The kernel a validated `--kernel` value stands for. */
function kernelChoice(
  name: string,
  customKernels: Readonly<Record<string, KernelSpec>>,
): KernelChoice {
  return name === "native"
    ? "native"
    : customKernels[name] ?? { kind: "suite", name: name as KernelSuite };
}

/** Refuses a kernel the user built for an arch that does not run: it would boot nowhere. */
function checkLocalKernelArches(
  customKernels: Readonly<Record<string, KernelSpec>>,
  arches: readonly Arch[],
): void {
  for (const kernel of Object.values(customKernels)) {
    if (kernel.kind === "local" && !arches.includes(kernel.arch)) {
      throw new UsageError(
        `--kernel ${kernel.image}: an ${kernel.arch} kernel, but --arch is ${arches.join(",")}; ` +
          `add --arch ${kernel.arch}`,
      );
    }
  }
}

/**
 * The raw values of each option given, after checking every token is a known, well-formed
 * option; positional arguments only for `merge`, which takes its inputs that way.
 */
function readRawValues(
  args: string[],
  specs: readonly OptionSpec[],
  command: "matrix" | "plan" | "merge" | "bisect",
): { values: Map<string, string[]>; positionals: string[] } {
  const acceptedOptions = specs.map((spec) => `--${spec.name}`).join(", ");
  const { tokens } = parseArgs({
    args,
    options: Object.fromEntries(
      specs.map((spec) => [
        spec.name,
        {
          type: spec.value ? "string" : "boolean",
          ...(spec.short ? { short: spec.short } : {}),
        },
      ]),
    ),
    // Not strict: parseArgs' own errors do not list the accepted options; we check tokens here.
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional" && command === "merge") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "positional") {
      throw new UsageError(
        `unexpected argument "${token.value}"; ${command} takes only options: ${acceptedOptions}`,
      );
    }
    if (token.kind !== "option") continue;
    const spec = specs.find((candidate) => candidate.name === token.name);
    if (spec === undefined) {
      throw new UsageError(
        `unknown option "${token.rawName}"; accepted: ${acceptedOptions} (see --help)`,
      );
    }
    const value = readTokenValue(spec, token.rawName, token.value, token.inlineValue);
    const previous = values.get(spec.name) ?? [];
    if (previous.length > 0 && !spec.repeatable) {
      throw new UsageError(
        `--${spec.name} given twice ("${previous[0]}" and "${value}"); give it once`,
      );
    }
    values.set(spec.name, [...previous, value]);
  }
  return { values, positionals };
}

/** Runs `parse`, turning its Error into a {@link UsageError} that names the option. */
function withOption<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`--${option}: ${(error as Error).message}`);
  }
}

function readTokenValue(
  spec: OptionSpec,
  rawName: string,
  value: string | undefined,
  inlineValue: boolean | undefined,
): string {
  if (spec.value === undefined) {
    if (value !== undefined) {
      throw new UsageError(
        `--${spec.name} takes no value; got "${rawName}=${value}"; write just ${rawName}`,
      );
    }
    return "";
  }
  // parseArgs takes the next argument as the value even when it is another option.
  if (value === undefined || (!inlineValue && value.startsWith("--"))) {
    throw new UsageError(
      `--${spec.name} needs a value (${spec.value})${
        value === undefined ? "" : `, got the option "${value}"`
      }; ${spec.help}`,
    );
  }
  return value;
}

/** Splits comma lists, validates every item, drops duplicates keeping order; all of `accepted` when absent. */
function parseList<T extends string>(
  option: string,
  rawValues: readonly string[] | undefined,
  accepted: readonly T[],
): T[] {
  if (rawValues === undefined) return [...accepted];
  const items = rawValues.flatMap((raw) => raw.split(",")).map((item) => item.trim());
  for (const item of items) {
    if (!accepted.includes(item as T)) {
      const problem = item === "" ? "empty value in the list" : `unknown value "${item}"`;
      throw new UsageError(`--${option}: ${problem}; accepted: ${accepted.join(", ")}`);
    }
  }
  return dedupe(items as T[]);
}

/** One value of `accepted`: a comma list is refused, since a bisect runs exactly one cell. */
function parseOne<T extends string>(option: string, raw: string, accepted: readonly T[]): T {
  if (raw.includes(",")) {
    throw new UsageError(
      `--${option}: "${raw}" is a list; a bisect runs one cell, so give one value; accepted: ${
        accepted.join(", ")
      }`,
    );
  }
  return parseChoice(option, raw.trim(), accepted);
}

function parseChoice<T extends string>(option: string, raw: string, accepted: readonly T[]): T {
  if (!accepted.includes(raw as T)) {
    throw new UsageError(`--${option}: unknown value "${raw}"; accepted: ${accepted.join(", ")}`);
  }
  return raw as T;
}

function dedupe<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function parseCpuModels(rawValues: readonly string[]): Record<Arch, string> {
  const models = Object.fromEntries(
    ARCHES.map((arch) => [arch, CPU_MODELS[arch].default]),
  ) as Record<Arch, string>;
  const given = new Set<Arch>();
  for (const raw of rawValues) {
    const separator = raw.indexOf("=");
    if (separator === -1) {
      throw new UsageError(
        `--cpu: "${raw}" is not ARCH=MODEL; write e.g. --cpu aarch64=max,pauth-impdef=on`,
      );
    }
    const arch = raw.slice(0, separator) as Arch;
    const model = raw.slice(separator + 1);
    if (!ARCHES.includes(arch)) {
      throw new UsageError(
        `--cpu: unknown arch "${arch}" in "${raw}"; accepted: ${ARCHES.join(", ")}`,
      );
    }
    const { accepted } = CPU_MODELS[arch];
    if (!accepted.includes(cpuBaseModel(model))) {
      throw new UsageError(
        `--cpu: unknown ${arch} CPU model "${cpuBaseModel(model)}" in "${raw}"; accepted: ${
          accepted.join(", ")
        } (optionally followed by QEMU properties, e.g. max,sve=off)`,
      );
    }
    if (given.has(arch)) {
      throw new UsageError(
        `--cpu: ${arch} given twice ("${models[arch]}" and "${model}"); give one model per arch`,
      );
    }
    given.add(arch);
    models[arch] = model;
  }
  return models;
}

function parseJobs(raw: string | undefined, cores: number): number {
  return raw === undefined
    ? cores
    : parsePositiveInteger("jobs", raw, `${cores}, the number of cores`);
}

function parsePositiveInteger(option: string, raw: string, defaultText: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1) {
    throw new UsageError(
      `--${option}: "${raw}" is not a positive whole number; accepted: 1, 2, 3, … (default: ${defaultText})`,
    );
  }
  return value;
}

function parseCount(option: string, raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw)) {
    throw new UsageError(
      `--${option}: "${raw}" is not a whole number; accepted: 0, 1, 2, … (default: 0)`,
    );
  }
  return Number(raw);
}

function parsePath(option: string, raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (raw.trim() === "") {
    throw new UsageError(
      `--${option}: empty path ""; accepted: a run directory or its results.json`,
    );
  }
  return raw;
}

function parseOut(raw: string | undefined, now: Date, prefix = ""): string {
  if (raw === undefined) return `out/${prefix}${formatUtcStamp(now)}`;
  if (raw.trim() === "") {
    throw new UsageError(`--out: empty directory name ""; accepted: any path, e.g. out/my-run`);
  }
  return raw;
}

/** `20261127-164500`: sorts in time order and is safe in a path. */
function formatUtcStamp(date: Date): string {
  return date.toISOString().replace(/\..*$/, "").replaceAll(/[-:]/g, "").replace("T", "-");
}

function parseTimeoutScale(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const scale = Number(raw);
  // A plain decimal only: Number() would also take "0x10", "1e3" or "Infinity".
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw) || scale <= 0) {
    throw new UsageError(
      `--timeout-scale: "${raw}" is not a positive number; accepted: a decimal > 0, e.g. 0.5, 1, 3`,
    );
  }
  return scale;
}

/**
 * The `--list` text: every case with its description, every CRIU version with its suite and
 * package, the arches, the kernel suites and the CPU models.
 *
 * @example
 * ```ts
 * import { formatCaseList } from "./options.ts";
 * import { loadCases } from "./cases.ts";
 * console.log(formatCaseList(await loadCases()));
 * ```
 */
export function formatCaseList(cases: readonly CaseDefinition[]): string {
  const section = (title: string, rows: string[][]) =>
    `${title}\n${alignColumns(rows, { indent: "  " })}`;
  return [
    section(
      `Cases (--case), ${cases.length}:`,
      cases.map((definition) => [definition.name, definition.description]),
    ),
    section(
      "CRIU versions (--criu VERSION or SUITE):",
      CRIU_VERSIONS.map((criu) => [
        criu.version,
        criu.suite,
        `package ${criu.packageVersion}`,
        `native kernel: ${nativeKernelSuite(criu.suite)}`,
      ]),
    ),
    section("Arches (--arch):", ARCHES.map((arch) => [arch])),
    section("Kernels (--kernel):", [
      ["native", "each CRIU version boots the kernel of its own suite (default)"],
      ...KERNEL_SUITES.map((suite) => [suite, `Linux ${KERNEL_SERIES[suite]}`]),
      ["VERSION", "a Debian cloud kernel package version, e.g. 6.1.176-1 (any suite)"],
      ["IMAGE[+MODULES]", "a kernel you built: bzImage/Image(.gz), and INSTALL_MOD_PATH"],
    ]),
    section(
      "CPU models (--cpu ARCH=MODEL[,PROPERTY=VALUE...]):",
      ARCHES.map((arch) => [
        arch,
        CPU_MODELS[arch].accepted.map((model) =>
          model === CPU_MODELS[arch].default ? `${model} (default)` : model
        ).join(", "),
      ]),
    ),
  ].join("\n\n");
}
