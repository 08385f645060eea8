/**
 * Brand-new Debian roots for the tests that start from nothing: made with Debian's own mmdebstrap
 * (minbase plus what a test names, none of the host packages, an empty cache), this machine's npm
 * configuration, resolver and extra CAs copied in, and entered with chroot with /proc, /sys, /dev
 * and /dev/pts bound. A root can serve as the read-only image of many short-lived machines, each
 * an overlay of its own on top of it, and take layers made the same way (what a set-up step
 * changed). Root only (mmdebstrap, chroot, mounts).
 *
 * @module
 */
import assert from "assert";
import { dirname, join } from "node:path";
import { copyCheckout } from "./test_helpers.ts";

/** Variables naming this machine's extra CAs, for npx, git and curl in a root as on the host. */
const CA_VARIABLES = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
  "GIT_SSL_CAINFO",
  "REQUESTS_CA_BUNDLE",
];

/** The PATH of a fresh Debian machine. */
export const FRESH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Runs `command` on the host; fails the test with its output's end unless it exits 0. */
export async function must(command: string[], cwd?: string): Promise<string> {
  const [program, ...args] = command;
  const output = await new Deno.Command(program, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${command.join(" ")}\n${text.slice(-3000)}`);
  return text;
}

/** A new root: where it is, and the variables (`NAME=VALUE`) that point at its copied CAs. */
export interface FreshRoot {
  dir: string;
  trust: string[];
}

/**
 * Makes a new `suite` root (minbase plus `include`, `options` passed on to mmdebstrap) under
 * /var/tmp, with this machine's npm configuration, resolver and CAs copied in.
 *
 * @example
 * ```ts ignore
 * import { makeFreshRoot, removeFreshRoot } from "./fresh_root.ts";
 * const root = await makeFreshRoot("bookworm", ["nodejs", "npm", "git", "ca-certificates"]);
 * await removeFreshRoot(root.dir);
 * ```
 */
export async function makeFreshRoot(
  suite: string,
  include: readonly string[],
  options: readonly string[] = [],
): Promise<FreshRoot> {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-fresh-" });
  await must([
    "mmdebstrap",
    "--quiet",
    "--variant=minbase",
    `--include=${include.join(",")}`,
    ...options,
    suite,
    dir,
  ]);
  return { dir, trust: await shareTrust(dir) };
}

/** Copies the host's npm configuration, resolver and CAs into `root`; the variables to pass. */
async function shareTrust(root: string): Promise<string[]> {
  for (const file of ["/etc/npmrc", "/etc/resolv.conf"]) {
    await Deno.copyFile(file, join(root, file)).catch(() => {});
  }
  const extraCas = "/usr/local/share/ca-certificates";
  if (await Deno.stat(extraCas).then(() => true, () => false)) {
    await must(["cp", "-r", `${extraCas}/.`, join(root, extraCas)]);
    await must(["chroot", root, "update-ca-certificates"]);
  }
  const pass: string[] = [];
  for (const name of CA_VARIABLES) {
    const path = Deno.env.get(name);
    if (!path) continue;
    if (!await Deno.stat(join(root, path)).then(() => true, () => false)) {
      await Deno.mkdir(join(root, dirname(path)), { recursive: true });
      await must(["cp", "-rL", path, join(root, path)]);
    }
    pass.push(`${name}=${path}`);
  }
  return pass;
}

/**
 * Binds /proc, /sys, /dev and /dev/pts into `root`; resolves to the function that undoes it.
 *
 * @example
 * ```ts ignore
 * import { mountSystem } from "./fresh_root.ts";
 * const unmount = await mountSystem("/var/tmp/criu-matrix-fresh-x");
 * await unmount();
 * ```
 */
export async function mountSystem(root: string): Promise<() => Promise<void>> {
  const mounted: string[] = [];
  const unmount = async () => {
    for (const target of mounted.reverse()) {
      await new Deno.Command("umount", { args: ["--lazy", target] }).output();
    }
  };
  try {
    for (
      const [target, mount] of [
        ["proc", ["-t", "proc", "proc"]],
        ["sys", ["-t", "sysfs", "sys"]],
        ["dev", ["--bind", "/dev"]],
        ["dev/pts", ["--bind", "/dev/pts"]],
      ] as const
    ) {
      await must(["mount", ...mount, join(root, target)]);
      mounted.push(join(root, target));
    }
  } catch (error) {
    await unmount();
    throw error;
  }
  return unmount;
}

/**
 * An image a machine starts from: a root, or layers (the top one first) each holding only what
 * was changed on top of the ones below it, as overlay upper directories do.
 */
export type Image = string | readonly string[];

/** A host directory shared by every machine at one path (e.g. a cache of downloads). */
export interface SharedDir {
  host: string;
  path: string;
}

/**
 * A machine of its own on top of `image`, which it never changes: an overlay mount with /proc,
 * /sys and /dev bound in, and each of `shared` bound at its path. Resolves to its root directory,
 * what it changed (the overlay's upper directory) and the function that removes it.
 *
 * @example
 * ```ts ignore
 * import { freshMachine } from "./fresh_root.ts";
 * const machine = await freshMachine("/var/tmp/criu-matrix-fresh-x");
 * await machine.dispose();
 * ```
 */
export async function freshMachine(
  image: Image,
  shared: readonly SharedDir[] = [],
): Promise<{ root: string; changes: string; dispose: () => Promise<void> }> {
  const base = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-machine-" });
  const [upper, work, root] = ["upper", "work", "root"].map((name) => join(base, name));
  for (const dir of [upper, work, root]) await Deno.mkdir(dir);
  await must([
    "mount",
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${[image].flat().join(":")},upperdir=${upper},workdir=${work}`,
    root,
  ]);
  const mounts: (() => Promise<void>)[] = [async () => {
    await new Deno.Command("umount", { args: ["--lazy", root] }).output();
  }];
  const dispose = async () => {
    for (const unmount of mounts.reverse()) await unmount();
    await removeFreshRoot(base);
  };
  try {
    mounts.push(await mountSystem(root));
    for (const { host, path } of shared) {
      await Deno.mkdir(join(root, path), { recursive: true });
      await must(["mount", "--bind", host, join(root, path)]);
      mounts.push(async () => {
        await new Deno.Command("umount", { args: ["--lazy", join(root, path)] }).output();
      });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { root, changes: upper, dispose };
}

/**
 * Makes a new layer on top of `image` by running `script` as root in a machine on it (with
 * `shared` bound in); resolves to the layered image (the new layer first). The layer is a
 * directory under /var/tmp: remove it with {@link removeFreshRoot}.
 *
 * @example
 * ```ts ignore
 * import { addLayer } from "./fresh_root.ts";
 * const image = await addLayer("/var/tmp/criu-matrix-fresh-x", "apt-get install -y sudo", []);
 * ```
 */
export async function addLayer(
  image: Image,
  script: string,
  trust: readonly string[],
  shared: readonly SharedDir[] = [],
): Promise<string[]> {
  const machine = await freshMachine(image, shared);
  try {
    const { code, output } = await runInMachine(machine.root, "root", script, {}, trust);
    assert.equal(code, 0, `${script}\n${output.slice(-3000)}`);
    const layer = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-layer-" });
    await must(["cp", "-a", `${machine.changes}/.`, layer]);
    return [layer, ...[image].flat()];
  } finally {
    await machine.dispose();
  }
}

/**
 * Removes a root made here; never crosses into another file system (a bind mount left behind).
 *
 * @example
 * ```ts ignore
 * import { removeFreshRoot } from "./fresh_root.ts";
 * await removeFreshRoot("/var/tmp/criu-matrix-fresh-x");
 * ```
 */
export async function removeFreshRoot(dir: string): Promise<void> {
  await must(["rm", "-rf", "--one-file-system", dir]);
}

/**
 * Runs `script` through bash on the machine at `root` as `user` (from its home), with only the
 * variables given: `trust` (see {@link FreshRoot}), then `env` over a fresh machine's defaults.
 * Resolves to its exit status and its output (stdout, then stderr).
 *
 * @example
 * ```ts ignore
 * import { runInMachine } from "./fresh_root.ts";
 * await runInMachine("/var/tmp/criu-matrix-machine-x/root", "root", "id -u", {}, []);
 * ```
 */
export async function runInMachine(
  root: string,
  user: string,
  script: string,
  env: Record<string, string>,
  trust: readonly string[],
): Promise<{ code: number; output: string }> {
  const home = user === "root" ? "/root" : `/home/${user}`;
  const variables = Object.entries({
    HOME: home,
    USER: user,
    LANG: "C.UTF-8",
    PATH: FRESH_PATH,
    ...env,
  })
    .map(([key, value]) => `${key}=${value}`);
  const result = await new Deno.Command("chroot", {
    args: [
      root,
      ...["/usr/sbin/runuser", "-u", user, "--"],
      ...["/usr/bin/env", "-i", ...trust, ...variables],
      ...["/bin/bash", "-c", script],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/**
 * Makes `dest` a bare git repository holding this checkout's files (as a fresh clone holds them)
 * in one commit on `main`: the origin a replayed CI job clones.
 *
 * @example
 * ```ts ignore
 * import { bareRepositoryOfCheckout } from "./fresh_root.ts";
 * await bareRepositoryOfCheckout("/var/tmp/criu-matrix-fresh-x/srv/criu-matrix.git");
 * ```
 */
export async function bareRepositoryOfCheckout(dest: string): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "criu-matrix-origin-" });
  try {
    await copyCheckout(work);
    const git = ["git", "-c", "user.name=replay", "-c", "user.email=replay@example.org"];
    await must([...git, "init", "--quiet", "--initial-branch=main"], work);
    await must([...git, "add", "--all"], work);
    await must([...git, "commit", "--quiet", "--message", "the checkout under test"], work);
    await must(["git", "clone", "--quiet", "--bare", work, dest]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
