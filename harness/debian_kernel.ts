/**
 * Fetching Debian kernel packages without installing anything: a private apt state in a scratch
 * directory, the kernel's own packages looked up by name and version, downloaded alone and
 * unpacked. No dependency is resolved or fetched, which is what makes a kernel image quick to
 * build (a cloud kernel pulls in systemd, dracut and libc, none of which a guest boots).
 *
 * @module
 */
import { join } from "node:path";
import { DEBIAN_ARCH, type KernelRecipe } from "../vm/recipes.ts";
import { runCommand } from "./exec.ts";
import { UsageError } from "./options.ts";

/** The signing keys of Debian's archive, as the debian-archive-keyring package installs them. */
const ARCHIVE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

/** A package's stanza fields that matter here. */
interface PackageStanza {
  package: string;
  version: string;
  depends: string;
}

/** apt-get/apt-cache options that point every apt path into `dir` and at `arch` only. */
function aptOptions(dir: string, arch: KernelRecipe["arch"]): string[] {
  return [
    `Dir::Etc::SourceList=${join(dir, "sources.list")}`,
    `Dir::Etc::SourceParts=${join(dir, "sources.list.d")}`,
    `Dir::Etc::Preferences=${join(dir, "preferences")}`,
    `Dir::Etc::PreferencesParts=${join(dir, "preferences.d")}`,
    `Dir::State::Lists=${join(dir, "lists")}`,
    `Dir::State::status=${join(dir, "status")}`,
    `Dir::Cache=${join(dir, "cache")}`,
    `APT::Architecture=${DEBIAN_ARCH[arch]}`,
    `APT::Architectures=${DEBIAN_ARCH[arch]}`,
    "Acquire::Languages=none",
    // The sid archive seen from CI machines has served an expired Release file.
    "Acquire::Check-Valid-Until=false",
    "Debug::NoLocking=true",
    // As root apt would hand downloads to its _apt user, who cannot write into our scratch dir.
    ...(Deno.uid() === 0 ? ["APT::Sandbox::User=root"] : []),
  ].flatMap((option) => ["-o", option]);
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
 * Downloads the kernel packages of `recipe` into `dir/debs` and unpacks them into `root`; returns
 * the version of the package asked for. A version Debian does not serve is a {@link UsageError}
 * listing the versions it does.
 *
 * @example
 * ```ts ignore
 * import { fetchDebianKernel } from "./debian_kernel.ts";
 * import { kernelRecipe } from "../vm/recipes.ts";
 * await fetchDebianKernel(kernelRecipe("sid", "x86_64"), "/tmp/scratch", "/tmp/root");
 * ```
 */
export async function fetchDebianKernel(
  recipe: KernelRecipe,
  dir: string,
  root: string,
): Promise<string> {
  const apt = join(dir, "apt");
  for (
    const sub of ["sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial"]
  ) {
    await Deno.mkdir(join(apt, sub), { recursive: true });
  }
  await Deno.writeTextFile(join(apt, "status"), "");
  await Deno.writeTextFile(
    join(apt, "sources.list"),
    recipe.sources.map((line) => line.replace(/^deb /, `deb [signed-by=${ARCHIVE_KEYRING}] `))
      .join("\n") + "\n",
  );
  const options = aptOptions(apt, recipe.arch);
  await runCommand(["apt-get", ...options, "-q", "update"]);
  const wanted: string[] = [];
  let frontier = [recipe.package];
  let requested: PackageStanza | null = null;
  while (frontier.length > 0) {
    const { stdout } = await runCommand(
      ["apt-cache", ...options, "show", "--no-all-versions", ...frontier],
      { allowFailure: true },
    );
    const stanzas = parseStanzas(stdout);
    if (!requested && stanzas.length === 0) throw await unknownVersion(recipe, options);
    requested ??= stanzas[0];
    frontier = stanzas.flatMap((stanza) => kernelDependencies(stanza.depends))
      .filter((request) => !wanted.includes(request));
    wanted.push(...frontier);
  }
  if (wanted.length === 0) {
    throw new Error(`${recipe.package} names no kernel package at an exact version`);
  }
  const debs = join(dir, "debs");
  await Deno.mkdir(debs);
  await runCommand(["apt-get", ...options, "-q", "download", ...wanted], { cwd: debs });
  for await (const entry of Deno.readDir(debs)) {
    await runCommand(["dpkg-deb", "-x", join(debs, entry.name), root]);
  }
  await Deno.remove(debs, { recursive: true });
  return requested!.version;
}

/** The error for a package version apt does not know, listing the versions it does. */
async function unknownVersion(recipe: KernelRecipe, options: string[]): Promise<UsageError> {
  const [name, version] = recipe.package.split("=");
  const { stdout } = await runCommand(["apt-cache", ...options, "madison", name]);
  const available = stdout.split("\n").map((line) => line.split("|").map((part) => part.trim()))
    .filter((parts) => parts.length >= 3)
    .map(([, known, source]) => `${known} (${source.split(" ")[1]?.split("/")[0] ?? "?"})`);
  return new UsageError(
    `--kernel ${version}: Debian serves no ${name} of that version; it serves: ${
      available.join(", ") || "none"
    }`,
  );
}
