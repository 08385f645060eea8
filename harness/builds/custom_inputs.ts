/**
 * What a user brings on the command line beyond the catalog: a CRIU source tree (with patches)
 * or binary for `--criu`, a Debian kernel package version or a kernel of their own for
 * `--kernel`, and CRIU's own zdtm tests as `--case zdtm:NAME` with `--zdtm DIR`. All are checked
 * before anything boots, and turned into the plan's ordinary types.
 *
 * @module
 */
import { basename } from "node:path";
import { bootImageArch } from "../../vm/boot_kernel.ts";
import { CRIU_VERSIONS } from "../core/catalog.ts";
import {
  type Arch,
  type CaseDefinition,
  type CriuSpec,
  KERNEL_SUITES,
  type KernelSpec,
} from "../core/types.ts";
import { classifyCriuArgument, readCriuVersion } from "./criu.ts";
import { checkCriuRepo, resolveRevisionItem } from "./criu_repo.ts";
import { parseBuildFlagsChoice } from "./build_flags.ts";
import { sha256Hex } from "../host/sha256.ts";
import { requireRegularFile } from "../core/confined_path.ts";
import { InputError } from "../core/errors.ts";
import { buildZdtmTests, listZdtmStaticTests } from "./zdtm.ts";

/** The prefix of case names that run a zdtm static test. */
export const ZDTM_CASE_PREFIX = "zdtm:";

/** The items of an option's values: comma lists split, blanks trimmed. */
function listItems(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(",")).map((item) => item.trim());
}

const ARCH_BINARY = /^(x86_64|aarch64)=/;

/** Whether a `--criu` item is written as a path (`./x`, `/x`, `x/y`), not as a revision. */
function isPath(item: string): boolean {
  return item.startsWith(".") || item.includes("/");
}

function isCatalogCriu(item: string): boolean {
  return CRIU_VERSIONS.some((criu) => criu.version === item || criu.suite === item);
}

/** Paths a `--criu` item names: its tree or binaries, and its patches. */
function namedPaths(item: string): string[] {
  return item.split(",").map((part) => part.replace(ARCH_BINARY, "")).flatMap((part) =>
    part.split("+")
  );
}

/**
 * Refuses, saying what to do, an empty path (`DIR+`, `x86_64=`) or one this process may not
 * read (`task matrix` permissions).
 */
async function ensureReadable(path: string, option: string, item = path): Promise<void> {
  if (path.trim() === "") {
    throw new InputError(
      `--${option} ${item}: a path is missing (empty before or after "+" or "="); accepted: ` +
        (option === "criu"
          ? "DIR, DIR+PATCH, BINARY, or x86_64=BINARY,aarch64=BINARY"
          : "IMAGE or IMAGE+MODULES_DIR"),
    );
  }
  const permission = await Deno.permissions.query({ name: "read", path });
  if (permission.state !== "granted") {
    throw new InputError(
      `--${option} ${path}: outside the directories task matrix may read (the repository, /tmp, ` +
        `~/.cache/criu-matrix); move it inside, or run harness/cli/main.ts with --allow-read=${path}`,
    );
  }
}

function usageError(error: unknown): InputError {
  return new InputError(`--criu: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * The `--criu` items (`values`, as given, each possibly a comma list) that name a source tree,
 * a tree plus patches or binaries, or, with `repo` (`--criu-repo`), revisions of that repository
 * (tags, commits, branches, `vA..vB`, `releases`), each with the {@link CriuSpec}s it stands for
 * (built with `buildFlags`, `--build-flags`; they run in a bookworm guest). Items that are neither
 * in the catalog nor look like paths are left for option parsing to reject with the accepted list.
 *
 * @example
 * ```ts ignore
 * import { resolveCustomCriu } from "./custom_inputs.ts";
 * const custom = await resolveCustomCriu(["./criu-4.1.1+fix.patch"]);
 * console.log(custom["./criu-4.1.1+fix.patch"][0].version); // "4.1.1-src+fix"
 * ```
 */
export async function resolveCustomCriu(
  values: readonly string[],
  options: { repo?: string; buildFlags?: string } = {},
): Promise<Record<string, CriuSpec[]>> {
  const items = listItems(values);
  const custom: Record<string, CriuSpec[]> = {};
  if (options.repo !== undefined) {
    await ensureReadable(options.repo, "criu-repo");
    const repo = await checkCriuRepo(options.repo);
    // In a repository every item that is not in the catalog nor a path is a revision.
    const revisions = items.filter((i) => !isCatalogCriu(i) && !ARCH_BINARY.test(i) && !isPath(i));
    for (const item of revisions) custom[item] = await resolveRevisionItem(repo, item);
  }
  for (const item of items.filter((i) => !isCatalogCriu(i) && !custom[i] && /[/.=]/.test(i))) {
    // "9.9" is a version the catalog lacks, not a file called 9.9.
    if (/^v?\d+(\.\d+)*$/.test(item)) {
      throw new InputError(
        `--criu: unknown version "${item}"; accepted: ${
          CRIU_VERSIONS.flatMap((c) => [c.version, c.suite]).join(", ")
        }, a revision with --criu-repo DIR, or a CRIU source tree or binary (a path)`,
      );
    }
    for (const path of namedPaths(item)) await ensureReadable(path, "criu", item);
  }
  // Per-arch binaries given together (x86_64=A,aarch64=B) are one CRIU.
  const binaries = items.filter((item) => ARCH_BINARY.test(item));
  if (binaries.length > 0) {
    const spec = await classifyCriuArgument(binaries.join(",")).then(toSpec, (error) => {
      throw usageError(error);
    });
    for (const item of binaries) custom[item] = [spec];
  }
  for (const item of items) {
    if (ARCH_BINARY.test(item) || isCatalogCriu(item) || custom[item] || !/[/.]/.test(item)) {
      continue;
    }
    custom[item] = [
      await classifyCriuArgument(item).then(toSpec, (error) => {
        throw usageError(error);
      }),
    ];
  }
  const flags = options.buildFlags;
  if (flags === undefined || parseBuildFlagsChoice(flags) === "criu") return custom;
  // Built another way, it is another CRIU: its version says so in every cell and file name.
  return Object.fromEntries(
    Object.entries(custom).map(([item, specs]) => [
      item,
      specs.map((spec) =>
        spec.origin?.kind === "binary"
          ? spec
          : { ...spec, version: `${spec.version}+${flags}`, buildFlags: flags }
      ),
    ]),
  );
}

async function toSpec(
  argument: Awaited<ReturnType<typeof classifyCriuArgument>>,
): Promise<CriuSpec> {
  if (argument.kind === "tree") {
    const patches = argument.patches.map((patch) => basename(patch).replace(/\.(patch|diff)$/, ""));
    return {
      version: [`${await readCriuVersion(argument.tree)}-src`, ...patches].join("+"),
      suite: "bookworm",
      packageVersion: `source ${argument.tree}${argument.patches.map((p) => ` + ${p}`).join("")}`,
      origin: { kind: "source", tree: argument.tree, patches: argument.patches },
    };
  }
  const paths = Object.values(argument.binaries).join(",");
  return {
    version: `binary-${sha256Hex(paths).slice(0, 8)}`,
    suite: "bookworm",
    packageVersion: `binary ${paths}`,
    origin: { kind: "binary", binaries: argument.binaries },
  };
}

/** A Debian package version: upstream version, then a Debian revision (`6.12.95-1~bpo12+1`). */
const PACKAGE_VERSION = /^[0-9][0-9A-Za-z.+~]*-[0-9A-Za-z.+~]+$/;

/**
 * The `--kernel` items (`values`, as given) that are not `native` or a suite: Debian kernel package versions
 * and kernels the user built (`IMAGE` or `IMAGE+MODULES_DIR`, the arch read from the image), each
 * with the {@link KernelSpec} it stands for. Anything else is left for option parsing to reject
 * with the accepted list.
 *
 * @example
 * ```ts
 * import { resolveCustomKernels } from "./custom_inputs.ts";
 * const custom = await resolveCustomKernels(["sid,6.1.176-1"]);
 * console.log(custom["6.1.176-1"]); // { kind: "package", name: "6.1.176-1", packageVersion: "6.1.176-1" }
 * ```
 */
export async function resolveCustomKernels(
  values: readonly string[],
): Promise<Record<string, KernelSpec>> {
  const items = listItems(values);
  const custom: Record<string, KernelSpec> = {};
  for (const item of items) {
    if (item === "native" || (KERNEL_SUITES as readonly string[]).includes(item)) continue;
    if (PACKAGE_VERSION.test(item)) {
      custom[item] = { kind: "package", name: item, packageVersion: item };
    } else if (item.includes("/")) {
      const [image, modules = null, ...extra] = item.split("+");
      if (extra.length > 0) {
        throw new InputError(`--kernel ${item}: give IMAGE or IMAGE+MODULES_DIR, one + at most`);
      }
      for (const path of modules === null ? [image] : [image, modules]) {
        await ensureReadable(path, "kernel", item);
      }
      const arch = await kernelImageArch(image);
      const hash = sha256Hex(item).slice(0, 8);
      const label = basename(image).replace(/[^A-Za-z0-9._-]/g, "_");
      custom[item] = { kind: "local", name: `local-${label}-${hash}`, arch, image, modules };
    }
  }
  return custom;
}

/** The arch of the kernel image at `image`; a clear error when it cannot be read or booted. */
async function kernelImageArch(image: string): Promise<Arch> {
  // A FIFO or a device would block the read or never end it.
  const bytes = await requireRegularFile(image).then(() => Deno.readFile(image)).catch((error) => {
    throw new InputError(`--kernel ${image}: cannot read it (${(error as Error).message})`);
  });
  const arch = bootImageArch(bytes);
  if (arch !== null) return arch;
  throw new InputError(
    `--kernel ${image}: not a kernel image criu-matrix can boot: expected an x86_64 bzImage ` +
      `(arch/x86/boot/bzImage) or an arm64 Image, plain or gzipped (arch/arm64/boot/Image)`,
  );
}

/**
 * The zdtm case names the `--case` values ask for (`zdtm:NAME`), unchecked.
 *
 * @example
 * ```ts
 * import { requestedZdtmCases } from "./custom_inputs.ts";
 * requestedZdtmCases(["sigstop,zdtm:env00"]); // ["zdtm:env00"]
 * ```
 */
export function requestedZdtmCases(caseValues: readonly string[]): string[] {
  return listItems(caseValues).filter((item) => item.startsWith(ZDTM_CASE_PREFIX));
}

/**
 * The zdtm cases the `--case` values ask for (`zdtm:NAME`), as case definitions, checked
 * against the test/zdtm/static of `tree` (the `--zdtm` value). Their start arguments come from
 * the tree's Makefile (a build for the
 * host arch, cached; the pipeline builds the other arches).
 *
 * @example
 * ```ts ignore
 * import { zdtmCases } from "./custom_inputs.ts";
 * const cases = await zdtmCases("criu-4.1.1", ["zdtm:stopped"], cache, log);
 * console.log(cases[0].zdtm?.test); // "stopped"
 * ```
 */
export async function zdtmCases(
  tree: string | undefined,
  caseValues: readonly string[],
  cacheDir: string,
  log: (line: string) => void,
): Promise<CaseDefinition[]> {
  const requested = requestedZdtmCases(caseValues);
  if (requested.length === 0) return [];
  if (!tree) {
    throw new InputError(
      `--case ${requested[0]}: zdtm cases need --zdtm DIR, a CRIU source tree holding test/zdtm`,
    );
  }
  await ensureReadable(tree, "zdtm");
  const tests = requested.map((name) => name.slice(ZDTM_CASE_PREFIX.length));
  const known = await listZdtmStaticTests(tree).catch((error) => {
    throw new InputError(`--zdtm ${tree}: ${error instanceof Error ? error.message : error}`);
  });
  const unknown = tests.filter((test) => !known.includes(test));
  if (unknown.length > 0) {
    throw new InputError(
      `--case: unknown zdtm test(s) ${unknown.join(", ")}; ${tree}/test/zdtm/static has: ${
        known.join(", ")
      }`,
    );
  }
  const built = await buildZdtmTests({ tree, tests, arch: "x86_64", cacheDir, log });
  return tests.map((test) => ({
    name: `${ZDTM_CASE_PREFIX}${test}`,
    description: `CRIU's own zdtm test static/${test}, checked by itself after restore`,
    fixture: { threads: 1, handler: "none", pendingSignal: null },
    stop: { via: "none", signal: null },
    dump: { leaveRunning: false, shellJob: false },
    // What a zdtm test stops, and how, is its own business: it decides no signal's support.
    decides: [],
    zdtm: {
      test,
      args: built.commands[test].slice(1).filter((arg) =>
        !arg.startsWith("--pidfile=") && !arg.startsWith("--outfile=")
      ),
    },
  }));
}
