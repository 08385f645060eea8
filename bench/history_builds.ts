/**
 * `deno task bench:history`: how long building CRIU's releases takes here, one at a time, in
 * three passes over the same cache: first (in an empty cache: cold, era roots made, every era
 * tried), warm (those builds dropped, the compiler cache and the recorded release-to-era mapping
 * kept) and cached (every build found). Each line names the release, its commit, the era that built it and
 * the seconds; a release that builds in no era is listed with the tail of its log.
 *
 * Options: `--repo DIR` (a CRIU clone, required), `--from vA --to vB` (default v3.11..newest),
 * `--arch x86_64|aarch64` (default x86_64), `--cache DIR` (default: CRIU_MATRIX_CACHE or
 * ~/.cache/criu-matrix; give an empty one for a cold pass), `--out FILE` (JSON figures).
 *
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { ensureCriuBuild } from "../harness/builds/criu.ts";
import { exportRevision, releaseTags, tagsInRange } from "../harness/builds/criu_repo.ts";
import { defaultCacheDir } from "../harness/host/cache_dir.ts";
import { ensureCriuBuildDeps } from "../harness/host/host_tools.ts";
import { runCommand } from "../harness/host/exec.ts";
import type { Arch } from "../harness/core/types.ts";

/** One release built in one pass. */
interface Built {
  tag: string;
  commit: string;
  era: string | null;
  seconds: number;
  /** The cache entry of the build. */
  dir?: string;
  error?: string;
}

async function buildAll(
  repo: string,
  tags: readonly string[],
  arch: Arch,
  cacheDir: string,
  pass: string,
): Promise<Built[]> {
  const built: Built[] = [];
  for (const tag of tags) {
    const commit = (await runCommand(["git", "-C", repo, "rev-parse", `${tag}^{commit}`])).stdout
      .trim();
    const started = performance.now();
    try {
      const tree = await exportRevision(repo, commit, cacheDir);
      const build = await ensureCriuBuild({
        tree,
        commit,
        patches: [],
        arch,
        cacheDir,
        log: () => {},
      });
      built.push({
        tag,
        commit,
        era: build.era,
        seconds: (performance.now() - started) / 1000,
        dir: dirname(build.binary),
      });
    } catch (error) {
      const message = (error as Error).message.split("\n").slice(-3).join(" | ");
      built.push({
        tag,
        commit,
        era: null,
        seconds: (performance.now() - started) / 1000,
        error: message,
      });
    }
    const last = built.at(-1)!;
    console.log(
      `${pass}\t${tag}\t${commit.slice(0, 12)}\t${last.era ?? "FAILED"}\t${
        last.seconds.toFixed(0)
      } s` +
        (last.error ? `\t${last.error}` : ""),
    );
  }
  return built;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      repo: { type: "string" },
      from: { type: "string", default: "v3.11" },
      to: { type: "string" },
      arch: { type: "string", default: "x86_64" },
      cache: { type: "string" },
      out: { type: "string" },
    },
  });
  if (!values.repo) throw new Error("--repo DIR is required");
  const arch = values.arch as Arch;
  const cacheDir = values.cache ?? defaultCacheDir();
  const all = await releaseTags(values.repo);
  const tags = tagsInRange(all, values.from!, values.to ?? all.at(-1)!);
  await ensureCriuBuildDeps(arch, console.log);
  const passes: Record<string, Built[]> = {};
  const started = performance.now();
  passes.first = await buildAll(values.repo, tags, arch, cacheDir, "first");
  const firstWall = (performance.now() - started) / 1000;
  // Warm: these builds go (no others: the cache may be shared), the compiler caches and the
  // recorded eras stay.
  for (const { dir } of passes.first) if (dir) await Deno.remove(dir, { recursive: true });
  const warmStarted = performance.now();
  passes.warm = await buildAll(values.repo, tags, arch, cacheDir, "warm");
  const warmWall = (performance.now() - warmStarted) / 1000;
  const cachedStarted = performance.now();
  passes.cached = await buildAll(values.repo, tags, arch, cacheDir, "cached");
  const cachedWall = (performance.now() - cachedStarted) / 1000;
  const summary = { arch, tags, firstWall, warmWall, cachedWall, passes };
  console.log(
    `walls: first ${firstWall.toFixed(0)} s, warm ${warmWall.toFixed(0)} s, cached ${
      cachedWall.toFixed(0)
    } s`,
  );
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(summary, null, 2));
}
