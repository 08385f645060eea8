/**
 * `task bisect`: its options and `--help` text, and the command that finds the first CRIU
 * commit at which one cell stops passing (or, with the internal `--step`, runs one step of it).
 *
 * @module
 */

import { join } from "node:path";
import { defaultCacheDir } from "../../vm/image.ts";
import { runBisect } from "../bisect/driver.ts";
import { BISECT_FILE_NAME, bisectExitCode, renderBisectSummary } from "../bisect/report.ts";
import { runBisectStep } from "../bisect/step.ts";
import { resolveCustomKernels } from "../builds/custom_inputs.ts";
import { ARCHES } from "../core/types.ts";
import { loadCases } from "../core/cases.ts";
import type { BisectOptions } from "../core/command_options.ts";
import { InputError } from "../core/errors.ts";
import { BISECT_EXIT_CODES, formatExitCodes } from "../core/exit_codes.ts";
import { ensureHostToolsForTask } from "../host/host_tools.ts";
import { log } from "./log.ts";
import {
  checkLocalKernelArches,
  CPU_SPEC,
  formatUsage,
  HELP_SPEC,
  kernelChoice,
  kernelNames,
  type MatrixOptionsContext,
  type OptionSpec,
  parseCpuModels,
  parseOne,
  parseOut,
  parseTimeoutScale,
  readRawValues,
  TIMEOUT_SCALE_SPEC,
} from "./options.ts";
import { prepareCacheDir, prepareOutDir } from "./writable.ts";
import { parseBuildFlagsChoice } from "../builds/build_flags.ts";

const BISECT_SPECS: readonly OptionSpec[] = [
  {
    name: "case",
    value: "NAME",
    help: "The one case to run at each commit (see task matrix --list). Required.",
  },
  {
    name: "from",
    value: "REV",
    help: "A revision of --repo whose verdict (pass or fail) the bisect starts from (checked " +
      "first). Required, or --good.",
  },
  {
    name: "to",
    value: "REV",
    help: "A later revision with the other verdict (checked first). Required, or --bad.",
  },
  {
    name: "find",
    value: "KIND",
    help: "regression (--from must pass) or fix (--from must fail). Default: what --from's " +
      "verdict says.",
  },
  {
    name: "good",
    value: "REV",
    help: "Same as --from with --find regression: a revision whose CRIU passes the case.",
  },
  {
    name: "bad",
    value: "REV",
    help: "Same as --to with --find regression: a later revision whose CRIU fails it.",
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
  {
    name: "build-flags",
    value: "FLAGS",
    help: "How each commit is compiled: criu (its own flags) or debian-SUITE (that suite's " +
      "dpkg-buildflags for the arch). Default: criu.",
  },
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

/** The `--help` text of `task bisect`. */
export const BISECT_USAGE: string = formatUsage(
  [
    "Usage: deno task bisect --case NAME --from REV --to REV --repo DIR [OPTIONS]",
    "",
    "Finds the first commit of a CRIU git repository after --from at which one cell has another",
    "verdict than at --from: a regression when --from passes, a fix when it fails. Checks both",
    "endpoints, then drives git bisect run (terms old/new) in a temporary worktree, building",
    "CRIU at each commit (cached by commit, compiler cache shared, in an older Debian root when",
    "bookworm's toolchain cannot) and running the case in a VM. A commit whose cell is error or",
    "skip, or whose CRIU does not build, is skipped, never old or new.",
  ],
  BISECT_SPECS,
  ["", formatExitCodes(BISECT_EXIT_CODES, "Exit status:")],
);

/**
 * Parses the arguments of `task bisect` (without the `bisect` word). One cell: `--arch`,
 * `--kernel` and `--case` each take one value, never a list. `--case`, `--good`, `--bad` and
 * `--repo` are required unless `--help` is given. `--step` (internal) is routed before parsing,
 * by the CLI. Throws {@link InputError}.
 *
 * @example
 * ```ts
 * import { parseBisectOptions } from "./bisect.ts";
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
  return bisectOptionsFrom(readRawValues(args, BISECT_SPECS, "bisect").values, context);
}

/** The options of `task bisect` from its arguments, each read once by {@link readRawValues}. */
function bisectOptionsFrom(
  values: ReadonlyMap<string, string[]>,
  context: Pick<MatrixOptionsContext, "caseNames" | "now" | "customKernels">,
): BisectOptions {
  const help = values.has("help");
  const legacyNames = values.has("good") || values.has("bad");
  const mixed = legacyNames && ["from", "to", "find"].find((name) => values.has(name));
  if (mixed) {
    throw new InputError(
      `bisect: --${mixed} cannot go with --good/--bad; accepted: --from REV --to REV ` +
        `[--find regression|fix], or --good REV --bad REV`,
    );
  }
  const [fromName, toName] = legacyNames ? ["good", "bad"] : ["from", "to"];
  const required = ["case", fromName, toName, "repo"];
  const missing = required.filter((name) => !values.has(name));
  if (!help && missing.length > 0) {
    throw new InputError(
      `bisect: ${missing.map((name) => `--${name}`).join(", ")} ${
        missing.length === 1 ? "is" : "are"
      } required; write e.g. deno task bisect --case sigtstp --from v3.17 --to v3.18 ` +
        `--repo ../criu`,
    );
  }
  const arch = parseOne("arch", values.get("arch")?.[0] ?? "x86_64", ARCHES);
  const customKernels = context.customKernels ?? {};
  checkLocalKernelArches(customKernels, [arch]);
  const text = (name: string) => values.get(name)?.[0] ?? "";
  for (const name of [fromName, toName, "repo"]) {
    if (values.has(name) && text(name).trim() === "") {
      throw new InputError(
        `--${name}: empty value ""; accepted: ${
          name === "repo" ? "the directory of a CRIU git checkout" : "a commit, tag or branch"
        }`,
      );
    }
  }
  return {
    repo: text("repo"),
    from: text(fromName),
    to: text(toName),
    find: legacyNames
      ? "regression"
      : parseOne("find", values.get("find")?.[0] ?? "either", ["regression", "fix", "either"]),
    legacyNames,
    buildFlags: parseBuildFlagsChoice(values.get("build-flags")?.[0] ?? "criu"),
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

/** Runs `task bisect ARGS` and resolves to its exit status. */
export async function bisectCommand(args: string[]): Promise<number> {
  // A step answers git bisect run, which reads any status but 0, 1 and 125 as bad or fatal:
  // it takes its request file only, and never ends through the usage-error path below.
  const { values } = readRawValues(args, BISECT_SPECS, "bisect");
  const [step] = values.get("step") ?? [];
  if (step !== undefined) return await runBisectStep(step, (line) => log(`bisect step ${line}`));
  if (values.has("help")) {
    console.log(BISECT_USAGE);
    return 0;
  }
  const cases = await loadCases();
  const options = bisectOptionsFrom(values, {
    caseNames: cases.map((c) => c.name),
    customKernels: await resolveCustomKernels(values.get("kernel") ?? []),
  });
  // Git checks the repository itself once it is installed; a missing one is refused before.
  if (!(await Deno.stat(options.repo).then((info) => info.isDirectory, () => false))) {
    throw new InputError(
      `--repo ${options.repo}: no such directory; accepted: the top directory of a CRIU git checkout`,
    );
  }
  const outDir = await prepareOutDir(options.outDir, "--out", { resuming: false });
  const rerun = await ensureHostToolsForTask("bisect", args, [options.arch], log, [options.arch]);
  if (rerun !== null) return rerun;
  await prepareCacheDir(defaultCacheDir());
  const report = await runBisect({ ...options, outDir }, log);
  console.log(renderBisectSummary(report));
  if (report.outcome !== "found") log(report.message);
  console.log(`\nbisect: ${join(outDir, BISECT_FILE_NAME)}`);
  return bisectExitCode(report.outcome);
}
