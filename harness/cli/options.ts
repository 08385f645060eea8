/**
 * What the commands' parsers share: the option table they are read from (each option read
 * once, every token checked), the options several commands take, the `--help` layout, and the
 * value parsers that turn a bad value into an {@link InputError} naming it and what is accepted.
 * Each command's own options sit beside it (matrix.ts, plan.ts, merge.ts, bisect.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { alignColumns } from "../../reports/terminal.ts";
import {
  type Arch,
  ARCHES,
  type CriuSpec,
  KERNEL_SUITES,
  type KernelSpec,
  type KernelSuite,
} from "../core/types.ts";
import { CPU_MODELS, cpuBaseModel, CRIU_VERSIONS, findCriu } from "../core/catalog.ts";
import type { KernelChoice, SelectionOptions } from "../core/command_options.ts";
import { InputError } from "../core/errors.ts";

/** What parsing needs to know beyond the arguments; `now` and `cores` exist for tests. */
export interface MatrixOptionsContext {
  /** The names of the loaded cases, which `--case` accepts. */
  caseNames: readonly string[];
  /** Names the default output directory; defaults to the current time. */
  now?: Date;
  /** The cores the default `--jobs` is made for; defaults to `navigator.hardwareConcurrency`. */
  cores?: number;
  /**
   * `--criu` items that are not Debian versions or suites (source trees, patches, binaries),
   * already checked by the caller, with the CRIU each stands for.
   */
  customCriu?: Readonly<Record<string, readonly CriuSpec[]>>;
  /** `--kernel` items that are package versions or local kernels, already checked by the caller. */
  customKernels?: Readonly<Record<string, KernelSpec>>;
}

export interface OptionSpec {
  name: string;
  /** Placeholder shown in help; absent for flags. */
  value?: string;
  /** An option given several times adds up (lists) instead of being an error. */
  repeatable?: boolean;
  short?: string;
  help: string;
}

export const CPU_SPEC: OptionSpec = {
  name: "cpu",
  value: "ARCH=MODEL",
  repeatable: true,
  help: "QEMU CPU model of one arch, repeatable, e.g. --cpu aarch64=max,pauth-impdef=on.",
};
export const TIMEOUT_SCALE_SPEC: OptionSpec = {
  name: "timeout-scale",
  value: "F",
  help: "Multiply every timeout by F (0.1 to 100). Default: 1.",
};

export const SELECTION_SPECS: readonly OptionSpec[] = [
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
      "x86_64=PATH,aarch64=PATH); with --criu-repo, revisions of it: tags, commits, branches, " +
      "vA..vB (release tags from A to B) or releases. Default: all Debian versions.",
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

export const BASELINE_SPEC: OptionSpec = {
  name: "baseline",
  value: "PATH",
  help: "A previous run's directory or results.json: its passing cells that fail now are " +
    "regressions.",
};
export const HELP_SPEC: OptionSpec = {
  name: "help",
  short: "h",
  help: "Show this help, then exit.",
};

export function formatUsage(
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

export function readSelection(
  values: ReadonlyMap<string, string[]>,
  caseNames: readonly string[],
  customCriu: Readonly<Record<string, readonly CriuSpec[]>> = {},
  customKernels: Readonly<Record<string, KernelSpec>> = {},
): SelectionOptions {
  const cpu = parseCpuModelLists(values.get("cpu") ?? []);
  const criuNames = parseList(
    "criu",
    values.get("criu"),
    [...CRIU_VERSIONS.flatMap((c) => [c.version, c.suite]), ...Object.keys(customCriu)],
  );
  const arches = parseList("arch", values.get("arch"), ARCHES);
  checkLocalKernelArches(customKernels, arches);
  return {
    arches,
    criu: dedupe(
      criuNames.flatMap((name) => customCriu[name] ?? [findCriu(name)!]),
      (criu) => criu.version,
    ),
    cases: parseList("case", values.get("case"), caseNames),
    kernels: parseList("kernel", values.get("kernel") ?? ["native"], kernelNames(customKernels))
      .map((name) => kernelChoice(name, customKernels)),
    cpu,
  };
}

/** What `--kernel` accepts: `native`, the suites and the package versions or local kernels given. */
export function kernelNames(customKernels: Readonly<Record<string, KernelSpec>>): string[] {
  return ["native", ...KERNEL_SUITES, ...Object.keys(customKernels)];
}

/** The kernel a validated `--kernel` value stands for. */
export function kernelChoice(
  name: string,
  customKernels: Readonly<Record<string, KernelSpec>>,
): KernelChoice {
  return name === "native"
    ? "native"
    : customKernels[name] ?? { kind: "suite", name: name as KernelSuite };
}

/** Refuses a kernel the user built for an arch that does not run: it would boot nowhere. */
export function checkLocalKernelArches(
  customKernels: Readonly<Record<string, KernelSpec>>,
  arches: readonly Arch[],
): void {
  for (const kernel of Object.values(customKernels)) {
    if (kernel.kind === "local" && !arches.includes(kernel.arch)) {
      throw new InputError(
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
export function readRawValues(
  args: string[],
  specs: readonly OptionSpec[],
  command: "matrix" | "plan" | "merge" | "report" | "bisect" | "repro" | "bench" | "bench:history",
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
    if (token.kind === "positional" && (command === "merge" || command === "repro")) {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "positional") {
      throw new InputError(
        `unexpected argument "${token.value}"; ${command} takes only options: ${acceptedOptions}`,
      );
    }
    if (token.kind !== "option") continue;
    const spec = specs.find((candidate) => candidate.name === token.name);
    if (spec === undefined) {
      throw new InputError(
        `unknown option "${token.rawName}"; accepted: ${acceptedOptions} (see --help)`,
      );
    }
    const value = readTokenValue(spec, token.rawName, token.value, token.inlineValue);
    const previous = values.get(spec.name) ?? [];
    if (previous.length > 0 && !spec.repeatable) {
      throw new InputError(
        `--${spec.name} given twice ("${previous[0]}" and "${value}"); give it once`,
      );
    }
    values.set(spec.name, [...previous, value]);
  }
  return { values, positionals };
}

/** Runs `parse`, turning its Error into a {@link InputError} that names the option. */
export function withOption<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InputError(`--${option}: ${(error as Error).message}`);
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
      throw new InputError(
        `--${spec.name} takes no value; got "${rawName}=${value}"; write just ${rawName}`,
      );
    }
    return "";
  }
  // parseArgs takes the next argument as the value even when it is another option.
  if (value === undefined || (!inlineValue && value.startsWith("--"))) {
    throw new InputError(
      `--${spec.name} needs a value (${spec.value})${
        value === undefined ? "" : `, got the option "${value}"`
      }; ${spec.help}`,
    );
  }
  return value;
}

/** Splits comma lists, validates every item, drops duplicates keeping order; all of `accepted` when absent. */
export function parseList<T extends string>(
  option: string,
  rawValues: readonly string[] | undefined,
  accepted: readonly T[],
): T[] {
  if (rawValues === undefined) return [...accepted];
  const items = rawValues.flatMap((raw) => raw.split(",")).map((item) => item.trim());
  for (const item of items) {
    if (!accepted.includes(item as T)) {
      const problem = item === "" ? "empty value in the list" : `unknown value "${item}"`;
      throw new InputError(`--${option}: ${problem}; accepted: ${accepted.join(", ")}`);
    }
  }
  return dedupe(items as T[]);
}

/** One value of `accepted`: a comma list is refused, since a bisect runs exactly one cell. */
export function parseOne<T extends string>(option: string, raw: string, accepted: readonly T[]): T {
  if (raw.includes(",")) {
    throw new InputError(
      `--${option}: "${raw}" is a list; a bisect runs one cell, so give one value; accepted: ${
        accepted.join(", ")
      }`,
    );
  }
  return parseChoice(option, raw.trim(), accepted);
}

export function parseChoice<T extends string>(
  option: string,
  raw: string,
  accepted: readonly T[],
): T {
  if (!accepted.includes(raw as T)) {
    throw new InputError(`--${option}: unknown value "${raw}"; accepted: ${accepted.join(", ")}`);
  }
  return raw as T;
}

export function dedupe<T>(items: readonly T[], key: (item: T) => unknown = (item) => item): T[] {
  const seen = new Set<unknown>();
  return items.filter((item) => !seen.has(key(item)) && seen.add(key(item)));
}

/**
 * The `--cpu` values of a bisect: one model per arch (a bisect tests one cell), the arch's
 * default where none is given.
 */
export function parseCpuModels(rawValues: readonly string[]): Record<Arch, string> {
  const models = Object.fromEntries(
    ARCHES.map((arch) => [arch, CPU_MODELS[arch].default]),
  ) as Record<Arch, string>;
  const given = new Set<Arch>();
  for (const raw of rawValues) {
    const [arch, model] = parseCpuValue(raw);
    if (given.has(arch)) {
      throw new InputError(
        `--cpu: ${arch} given twice ("${models[arch]}" and "${model}"); give one model per arch`,
      );
    }
    given.add(arch);
    models[arch] = model;
  }
  return models;
}

/**
 * The `--cpu` values of a matrix: the models of each arch, one VM each, in the order given; an
 * arch with none given keeps the default matrix's models (harness/core/catalog.ts).
 */
export function parseCpuModelLists(
  rawValues: readonly string[],
): Record<Arch, readonly string[]> {
  const given: Partial<Record<Arch, string[]>> = {};
  for (const raw of rawValues) {
    const [arch, model] = parseCpuValue(raw);
    const models = given[arch] ??= [];
    if (models.includes(model)) {
      throw new InputError(`--cpu: ${arch}=${model} given twice; give each model once`);
    }
    models.push(model);
  }
  return Object.fromEntries(
    // The catalog's own list, not a copy: it tells the plan that no model was chosen.
    ARCHES.map((arch) => [arch, given[arch] ?? CPU_MODELS[arch].matrix]),
  ) as Record<Arch, readonly string[]>;
}

/** One `--cpu ARCH=MODEL[,PROPERTY=VALUE...]` value, checked: [arch, model]. */
function parseCpuValue(raw: string): [Arch, string] {
  const separator = raw.indexOf("=");
  if (separator === -1) {
    throw new InputError(
      `--cpu: "${raw}" is not ARCH=MODEL; write e.g. --cpu aarch64=max,pauth-impdef=on`,
    );
  }
  const arch = raw.slice(0, separator) as Arch;
  const model = raw.slice(separator + 1);
  if (!ARCHES.includes(arch)) {
    throw new InputError(
      `--cpu: unknown arch "${arch}" in "${raw}"; accepted: ${ARCHES.join(", ")}`,
    );
  }
  const { accepted } = CPU_MODELS[arch];
  if (!accepted.includes(cpuBaseModel(model))) {
    throw new InputError(
      `--cpu: unknown ${arch} CPU model "${cpuBaseModel(model)}" in "${raw}"; accepted: ${
        accepted.join(", ")
      } (optionally followed by QEMU properties, e.g. max,sve=off)`,
    );
  }
  return [arch, model];
}

/** Most parallel VMs: each takes up to 1.5 GiB; far more than any host here has. */
export const MAX_JOBS = 64;

/**
 * The default `--jobs`: one VM more than there are cores. A guest spends part of each cell
 * waiting (a 4 s nanosleep, a CRIU seize timeout, a hang watched for 2 s, the agent's polls), and
 * one VM per core leaves that core idle meanwhile. Measured on 2 cores (warm default matrix, load
 * 7 to 11 from other work at nice 19): 433 s with 2 jobs, 400 s with 3, 375 s with 4, the same
 * CPU seconds (624 to 653 s) and verdicts. Not more: every VM beyond the cores makes the host a
 * loaded one, where an aarch64 guest's kernel now and then locks up in CRIU's parasite trap (a
 * soft lockup, seen once in two runs with 4 jobs: 211 s lost to the cell's silence limit and
 * its rerun).
 *
 * @example
 * ```ts
 * import { defaultJobs } from "./options.ts";
 * defaultJobs(2); // 3
 * ```
 */
export function defaultJobs(cores: number): number {
  return Math.min(cores + 1, MAX_JOBS);
}
/** Most reruns of a failed cell: a cell that failed this often is not flaky but broken. */
export const MAX_RERUNS = 10;

export function parseJobs(raw: string | undefined, cores: number): number {
  return raw === undefined
    ? defaultJobs(cores)
    : parsePositiveInteger("jobs", raw, `${defaultJobs(cores)}, one more than the cores`, MAX_JOBS);
}

export function parsePositiveInteger(
  option: string,
  raw: string,
  defaultText: string,
  max: number,
): number {
  const value = Number(raw);
  if (!/^\d{1,9}$/.test(raw) || value < 1 || value > max) {
    throw new InputError(
      `--${option}: "${raw}" is not a whole number from 1 to ${max}; accepted: 1, 2, … ${max} ` +
        `(default: ${defaultText})`,
    );
  }
  return value;
}

export function parseCount(option: string, raw: string | undefined, max: number): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) {
    throw new InputError(
      `--${option}: "${raw}" is not a whole number from 0 to ${max}; accepted: 0, 1, … ${max} ` +
        `(default: 0)`,
    );
  }
  return Number(raw);
}

export function parsePath(option: string, raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (raw.trim() === "") {
    throw new InputError(
      `--${option}: empty path ""; accepted: a run directory or its results.json`,
    );
  }
  return raw;
}

export function parseOut(raw: string | undefined, now: Date, prefix = ""): string {
  if (raw === undefined) return `out/${prefix}${formatUtcStamp(now)}`;
  if (raw.trim() === "") {
    throw new InputError(`--out: empty directory name ""; accepted: any path, e.g. out/my-run`);
  }
  return raw;
}

/** `20261127-164500`: sorts in time order and is safe in a path. */
function formatUtcStamp(date: Date): string {
  return date.toISOString().replace(/\..*$/, "").replaceAll(/[-:]/g, "").replace("T", "-");
}

/**
 * Bounds of `--timeout-scale`: below, timeouts no real guest meets; above, timers longer than a
 * day (and near 2^31 ms Deno fires a timer at once, which turned waits into a busy loop).
 */
export const TIMEOUT_SCALE_RANGE = { min: 0.1, max: 100 } as const;

export function parseTimeoutScale(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const scale = Number(raw);
  const { min, max } = TIMEOUT_SCALE_RANGE;
  // A plain decimal only: Number() would also take "0x10", "1e3" or "Infinity".
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw) || scale < min || scale > max) {
    throw new InputError(
      `--timeout-scale: "${raw}" is not a number from ${min} to ${max}; accepted: a decimal ` +
        `from ${min} to ${max}, e.g. 0.5, 1, 3`,
    );
  }
  return scale;
}
