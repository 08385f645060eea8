/**
 * The machines the replays run their jobs on, made once per test process: one brand-new
 * `debian:trixie` root (minbase and CA certificates, none of the host packages), which GitLab's
 * jobs start from as root, and a hosted runner's image as a layer on top of it (Node.js, git,
 * curl, sudo and an ordinary user with passwordless sudo). Every job is a new overlay of one of
 * them. The `.deb` files apt downloads are kept in one directory every machine shares, as a
 * nearby mirror would serve them: each machine still runs apt itself and installs everything it
 * lacks. Also the git repositories the jobs clone. Root only.
 *
 * @module
 */
import { join } from "node:path";
import {
  addLayer,
  bareRepositoryOfCheckout,
  type FreshRoot,
  type Image,
  makeFreshRoot,
  must,
  removeFreshRoot,
  type SharedDir,
} from "../fresh_root.ts";
import { REPO_ROOT } from "../test_helpers.ts";
import { RUNNER_USER } from "./github.ts";

/** What the replays' jobs start from. */
export interface ReplayMachines {
  /** `debian:trixie`: what GitLab's jobs name as their image. */
  debian: Image;
  /** A hosted GitHub runner, as far as the workflow cares. */
  runner: Image;
  /** `NAME=VALUE` variables pointing at the CAs copied in. */
  trust: string[];
  /** Bound into every machine: the downloaded packages. */
  shared: SharedDir[];
  /** The runner user's uid (the owner of the repositories its jobs fetch from). */
  runnerUid: number;
  dispose(): Promise<void>;
}

/** Makes both images and the shared download directory. */
export async function makeReplayMachines(): Promise<ReplayMachines> {
  const made: string[] = [];
  try {
    // As in Debian's own container images, dpkg does not sync every file it unpacks
    // (/etc/dpkg/dpkg.cfg.d/docker-apt-speedup there, 99mmdebstrap here).
    const debian: FreshRoot = await makeFreshRoot("trixie", ["ca-certificates"], [
      "--dpkgopt=force-unsafe-io",
    ]);
    made.push(debian.dir);
    const downloads = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-debs-" });
    made.push(downloads);
    const shared = [{ host: downloads, path: "/var/cache/apt/archives" }];
    const runner = await addLayer(
      debian.dir,
      [
        "apt-get update -q",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends" +
        " nodejs npm git curl sudo",
        `useradd --create-home --shell /bin/bash ${RUNNER_USER}`,
        `echo '${RUNNER_USER} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/${RUNNER_USER}`,
        `chmod 0440 /etc/sudoers.d/${RUNNER_USER}`,
      ].join(" && "),
      debian.trust,
      shared,
    );
    made.push(runner[0]);
    const passwd = await Deno.readTextFile(join(runner[0], "etc/passwd"));
    const runnerUid = Number(
      passwd.split("\n").find((line) => line.startsWith(`${RUNNER_USER}:`))!.split(":")[2],
    );
    return {
      debian: debian.dir,
      runner,
      trust: debian.trust,
      shared,
      runnerUid,
      dispose: () => removeAll(made),
    };
  } catch (error) {
    await removeAll(made);
    throw error;
  }
}

async function removeAll(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) await removeFreshRoot(dir);
}

/**
 * A bare repository in a new directory under /var/tmp holding this checkout's files in one
 * commit on `main`, and each of `pullRequests` (a ref and the change it makes to those files, if
 * any, in a commit of its own on top), owned by `owner` (git serves only its owner's repositories).
 */
export async function originOfCheckout(
  owner: number,
  pullRequests: { ref: string; change: (dir: string) => Promise<void> }[] = [],
): Promise<string> {
  const origin = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-origin-" });
  await bareRepositoryOfCheckout(join(origin, "repo.git"));
  for (const { ref, change } of pullRequests) {
    const work = await Deno.makeTempDir({ prefix: "criu-matrix-pr-" });
    try {
      await must(["git", "clone", "--quiet", join(origin, "repo.git"), work]);
      await change(work);
      await must([...GIT, "commit", "--quiet", "--all", "--allow-empty", "--message", ref], work);
      await must(["git", "push", "--quiet", "origin", `HEAD:${ref}`], work);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  }
  await must(["chown", "-R", String(owner), origin]);
  return join(origin, "repo.git");
}

/**
 * A bare repository in a new directory under /var/tmp whose `main` is `commit` of this
 * repository's history (which a clean clone has), owned by `owner`.
 */
export async function originOfCommit(owner: number, commit: string): Promise<string> {
  const origin = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-origin-" });
  const repo = join(origin, "repo.git");
  await must(["git", "init", "--quiet", "--bare", repo]);
  await must(["git", "-C", REPO_ROOT, "push", "--quiet", repo, `${commit}:refs/heads/main`]);
  await must(["chown", "-R", String(owner), origin]);
  return repo;
}

/** Removes a repository made by {@link originOfCheckout} or {@link originOfCommit}. */
export async function removeOrigin(repo: string): Promise<void> {
  await removeFreshRoot(join(repo, ".."));
}

const GIT = ["git", "-c", "user.name=replay", "-c", "user.email=replay@example.org"];
