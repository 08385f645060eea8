/**
 * Fetching Debian kernel packages without installing anything: the kernel's own packages looked
 * up by name and version in the run's package indexes, downloaded alone and unpacked. No
 * dependency is resolved or fetched, which is what makes a kernel image quick to build (a cloud
 * kernel pulls in systemd, dracut and libc, none of which a guest boots).
 *
 * @module
 */
import { type KernelRecipe } from "./recipes.ts";
import { type AptIndexes, type AptState, downloadExactly, unpackDebs } from "./debian_apt.ts";
import { runCommand } from "../harness/host/exec.ts";
import { InfraError, InputError } from "../harness/core/errors.ts";

/** A package's stanza fields that matter here. */
interface PackageStanza {
  package: string;
  version: string;
  depends: string;
}

/**
 * Parses `apt-cache show` output into stanzas.
 *
 * @example
 * ```ts
 * import { parseStanzas } from "./debian_kernel.ts";
 * parseStanzas("Package: a\nVersion: 1\nDepends: b (= 1)\n\nPackage: b\nVersion: 1\n")
 *   .map((s) => s.package); // ["a", "b"]
 * ```
 */
export function parseStanzas(text: string): PackageStanza[] {
  return text.split(/\n\s*\n/).map((block) => {
    const field = (name: string) => block.match(new RegExp(`^${name}: (.*)$`, "m"))?.[1] ?? "";
    return { package: field("Package"), version: field("Version"), depends: field("Depends") };
  }).filter((stanza) => stanza.package !== "");
}

/**
 * The kernel packages a package depends on at an exact version (`linux-image-*`,
 * `linux-binary-*`, `linux-modules-*`): what holds the kernel and its modules, from a metapackage
 * down, whatever the suite splits them into.
 *
 * @example
 * ```ts
 * import { kernelDependencies } from "./debian_kernel.ts";
 * kernelDependencies(
 *   "kmod, linux-binary-7.2+deb14-cloud-amd64 (= 7.2-1), linux-modules-7.2+deb14-cloud-amd64 (= 7.2-1)",
 * ); // ["linux-binary-7.2+deb14-cloud-amd64=7.2-1", "linux-modules-7.2+deb14-cloud-amd64=7.2-1"]
 * ```
 */
export function kernelDependencies(depends: string): string[] {
  return [
    ...depends.matchAll(/(?:^|[,|]\s*)(linux-(?:image|binary|modules)-[^\s,|]+) \(= ([^)]+)\)/g),
  ]
    .map(([, name, version]) => `${name}=${version}`);
}

/**
 * Downloads the kernel packages of `recipe` into `dir` and unpacks them into `root`; returns the
 * version of the package asked for. A version Debian does not serve is a {@link InputError}
 * listing the versions it does.
 *
 * @example
 * ```ts ignore
 * import { fetchDebianKernel } from "./debian_kernel.ts";
 * import { AptIndexes } from "./debian_apt.ts";
 * import { kernelRecipe } from "./recipes.ts";
 * const indexes = await AptIndexes.create();
 * await fetchDebianKernel(kernelRecipe("sid", "x86_64"), indexes, "/tmp/debs", "/tmp/root");
 * await indexes.close();
 * ```
 */
export async function fetchDebianKernel(
  recipe: KernelRecipe,
  indexes: AptIndexes,
  dir: string,
  root: string,
): Promise<string> {
  const state = await indexes.open(recipe.sources, recipe.arch);
  const wanted: string[] = [];
  let frontier = [recipe.package];
  let requested: PackageStanza | null = null;
  while (frontier.length > 0) {
    const { stdout } = await runCommand(
      ["apt-cache", ...state.options, "show", "--no-all-versions", ...frontier],
      { allowFailure: true },
    );
    const stanzas = parseStanzas(stdout);
    if (!requested && stanzas.length === 0) throw await unknownVersion(recipe, state);
    requested ??= stanzas[0];
    frontier = stanzas.flatMap((stanza) => kernelDependencies(stanza.depends))
      .filter((request) => !wanted.includes(request));
    wanted.push(...frontier);
  }
  if (wanted.length === 0) {
    throw new InfraError(`${recipe.package} names no kernel package at an exact version`);
  }
  await downloadExactly(state, wanted, dir);
  await unpackDebs(dir, root);
  return requested!.version;
}

/** The error for a package version apt does not know, listing the versions it does. */
async function unknownVersion(recipe: KernelRecipe, state: AptState): Promise<InputError> {
  const [name, version] = recipe.package.split("=");
  const { stdout } = await runCommand(["apt-cache", ...state.options, "madison", name]);
  const available = stdout.split("\n").map((line) => line.split("|").map((part) => part.trim()))
    .filter((parts) => parts.length >= 3)
    .map(([, known, source]) => `${known} (${source.split(" ")[1]?.split("/")[0] ?? "?"})`);
  return new InputError(
    `--kernel ${version}: Debian serves no ${name} of that version; it serves: ${
      available.join(", ") || "none"
    }`,
  );
}
