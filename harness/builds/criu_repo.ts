/**
 * CRIU revisions as `--criu` values: with `--criu-repo DIR` (a CRIU git clone), `--criu` takes
 * tags, commits and branches of it, ranges of release tags `vA..vB` (both ends included) and
 * `releases` (every release tag). Each revision becomes a {@link CriuSpec} whose version names
 * its tag and commit the way `git describe --long` does, without the `v`
 * (`3.18-0-g5c3a2e1b6f0d`, `3.17-123-gc7858ba42abc`); its source is the commit's tree, exported
 * once into the cache, so builds are cached by commit.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { cachedBuildDir } from "../../vm/build_cache.ts";
import { InputError } from "../core/errors.ts";
import type { CriuSpec } from "../core/types.ts";
import { compareVersions, parseVersion } from "../core/version_range.ts";
import { runCommand } from "../host/exec.ts";
import { CRIU_TREE_MARKERS } from "./criu.ts";

/** A release tag: `v` and dotted numbers (`v3.18`, `v4.1.1`); no release candidates. */
const RELEASE_TAG = /^v\d+(\.\d+)*$/;
const RANGE = /^(.+)\.\.(.+)$/;

function git(repo: string, args: string[]) {
  return runCommand(["git", "-C", repo, ...args], { allowFailure: true });
}

/**
 * The release tags of `repo`, oldest first (by version, not by date).
 *
 * @example
 * ```ts ignore
 * import { releaseTags } from "./criu_repo.ts";
 * (await releaseTags("../criu")).slice(-2); // ["v4.1.1", "v4.2"]
 * ```
 */
export async function releaseTags(repo: string): Promise<string[]> {
  const { stdout } = await git(repo, ["tag", "--list", "v*"]);
  return stdout.split("\n").map((t) => t.trim()).filter((t) => RELEASE_TAG.test(t))
    .sort((a, b) => compareVersions(parseVersion(a.slice(1)), parseVersion(b.slice(1))));
}

/**
 * The release tags from `from` to `to`, both included, by version.
 *
 * @example
 * ```ts
 * import { tagsInRange } from "./criu_repo.ts";
 * tagsInRange(["v3.16", "v3.17", "v3.17.1", "v3.18", "v3.19"], "v3.17", "v3.18");
 * // ["v3.17", "v3.17.1", "v3.18"]
 * ```
 */
export function tagsInRange(tags: readonly string[], from: string, to: string): string[] {
  const low = parseVersion(from.slice(1));
  const high = parseVersion(to.slice(1));
  return tags.filter((tag) => {
    const version = parseVersion(tag.slice(1));
    return compareVersions(version, low) >= 0 && compareVersions(version, high) <= 0;
  });
}

/**
 * The CRIU version a commit's `git describe --long` names, without the leading `v`.
 *
 * @example
 * ```ts
 * import { describedVersion } from "./criu_repo.ts";
 * describedVersion("v3.17-25-gc7858ba42abc"); // "3.17-25-gc7858ba42abc"
 * ```
 */
export function describedVersion(described: string): string {
  return described.replace(/^v/, "");
}

/** The commit `rev` names in `repo`, or null (also for the bisect's endpoints). */
export async function commitOf(repo: string, rev: string): Promise<string | null> {
  const found = await git(repo, [
    "rev-parse",
    "--verify",
    "--quiet",
    "--end-of-options",
    `${rev}^{commit}`,
  ]);
  return found.code === 0 ? found.stdout.trim() : null;
}

/** The first of {@link CRIU_TREE_MARKERS} that `commit` lacks (old CRIU had no compel/), or null. */
export async function missingMarker(repo: string, commit: string): Promise<string | null> {
  for (const marker of CRIU_TREE_MARKERS) {
    if ((await git(repo, ["cat-file", "-e", `${commit}:${marker}`])).code !== 0) return marker;
  }
  return null;
}

/** The spec of one revision of `repo`. */
async function revisionSpec(repo: string, rev: string): Promise<CriuSpec> {
  const commit = await commitOf(repo, rev);
  if (!commit) {
    throw new InputError(
      `--criu ${rev}: not a revision of --criu-repo ${repo}; accepted: a tag, commit or branch ` +
        `of it, a range of release tags vA..vB, or releases`,
    );
  }
  const missing = await missingMarker(repo, commit);
  if (missing) {
    throw new InputError(
      `--criu ${rev}: commit ${commit} of ${repo} holds no CRIU tree that builds here ` +
        `(no ${missing})`,
    );
  }
  const described = await git(repo, [
    "describe",
    "--tags",
    "--long",
    "--abbrev=12",
    "--match",
    "v*",
    commit,
  ]);
  const version = described.code === 0
    ? describedVersion(described.stdout.trim())
    : `0-g${commit.slice(0, 12)}`;
  return {
    version,
    suite: "bookworm",
    packageVersion: `git ${rev} ${commit} of ${repo}`,
    origin: { kind: "revision", repo, rev, commit },
  };
}

/**
 * The CRIUs a `--criu` item names in `repo`: one for a revision, one per release tag for a range
 * `vA..vB` or `releases` (only tags whose tree has compel/, i.e. v3.0 and later). Throws a {@link InputError} for an unknown revision or an empty range.
 *
 * @example
 * ```ts ignore
 * import { resolveRevisionItem } from "./criu_repo.ts";
 * const specs = await resolveRevisionItem("../criu", "v3.17..v3.18");
 * specs.map((s) => s.version); // ["3.17-0-g…", "3.17.1-0-g…", "3.18-0-g…"]
 * ```
 */
export async function resolveRevisionItem(repo: string, item: string): Promise<CriuSpec[]> {
  const range = item.match(RANGE);
  if (item !== "releases" && !range) return [await revisionSpec(repo, item)];
  const tags = await releaseTags(repo);
  let chosen = tags;
  if (range) {
    const [, from, to] = range;
    for (const end of [from, to]) {
      if (!tags.includes(end)) {
        throw new InputError(
          `--criu ${item}: ${end} is not a release tag of ${repo}; accepted ends: ${
            tags.join(", ")
          }`,
        );
      }
    }
    chosen = tagsInRange(tags, from, to);
  }
  // Releases before compel/ (v2.x and older) are not trees this harness builds.
  const buildable = [];
  for (const tag of chosen) if (!(await missingMarker(repo, tag))) buildable.push(tag);
  chosen = buildable;
  if (chosen.length === 0) {
    throw new InputError(`--criu ${item}: no release tags in ${repo} (git tag --list v*)`);
  }
  return await Promise.all(chosen.map((tag) => revisionSpec(repo, tag)));
}

/**
 * Checks that `dir` is the top of a git repository and returns it absolute.
 *
 * @example
 * ```ts ignore
 * import { checkCriuRepo } from "./criu_repo.ts";
 * await checkCriuRepo("../criu"); // "/src/criu"
 * ```
 */
export async function checkCriuRepo(dir: string): Promise<string> {
  const repo = resolve(dir);
  const top = await git(repo, ["rev-parse", "--show-toplevel"]);
  if (top.code !== 0 || top.stdout.trim() !== repo) {
    throw new InputError(
      `--criu-repo ${dir}: not the top of a git repository; accepted: a CRIU git clone ` +
        `(git clone https://github.com/checkpoint-restore/criu)`,
    );
  }
  return repo;
}

/**
 * The source tree of `commit` of `repo`, exported once (`git archive`) into
 * `CACHE/sources/git-COMMIT/`.
 *
 * @example
 * ```ts ignore
 * import { exportRevision } from "./criu_repo.ts";
 * await exportRevision("../criu", "c7858ba42…", "/root/.cache/criu-matrix");
 * // "/root/.cache/criu-matrix/sources/git-c7858ba42…"
 * ```
 */
export async function exportRevision(
  repo: string,
  commit: string,
  cacheDir: string,
): Promise<string> {
  return await cachedBuildDir(join(resolve(cacheDir), "sources"), `git-${commit}`, async (tmp) => {
    await runCommand([
      "sh",
      "-c",
      'git -C "$1" archive --format=tar "$2" | tar -C "$3" -xf -',
      "export",
      repo,
      commit,
      tmp,
    ]);
  });
}
