/**
 * `deno task bench:history`: how long building CRIU's releases takes here, one at a time in tag
 * order, in up to three passes over the same cache: `first` (in a new cache: cold, the era root
 * made, every era tried; each release after the first finds the compiler cache its predecessor
 * filled), `warm` (those builds dropped, the compiler caches and the recorded release-to-era
 * mapping kept: the same commit again) and `cached` (every build found). Each line names the
 * release, its commit, the eras tried (the last built it), the wall seconds and the CPU seconds
 * (user + system of the build and its children; unlike wall seconds they do not depend on what
 * else runs); a release that builds in no era is listed with the tail of its log.
 *
 * Options: `--repo DIR` (a CRIU clone, required), `--from vA --to vB` (default v3.11..newest) or
 * `--tags vA,vB,…` (those, in version order), `--arch x86_64|aarch64` (default x86_64), `--cache
 * DIR` (default: CRIU_MATRIX_CACHE or ~/.cache/criu-matrix; give an empty one for a cold pass),
 * `--passes first,warm,cached` (default all three), `--cold-each` (empty the compiler caches of
 * `--cache`, which it requires, before each build of the first pass: every release cold, not
 * warmed by its predecessor), `--out FILE` (JSON figures).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { readBenchOptions } from "./args.ts";
import { parseChoice, parseList } from "../harness/cli/options.ts";
import { InputError } from "../harness/core/errors.ts";
import { ensureCriuBuild } from "../harness/builds/criu.ts";
import { inRoot } from "../harness/builds/build_root.ts";
import { exportRevision, releaseTags, tagsInRange } from "../harness/builds/criu_repo.ts";
import { defaultCacheDir } from "../harness/host/cache_dir.ts";
import { cpuSeconds } from "../harness/host/cpu_time.ts";
import { ensureCriuBuildDeps } from "../harness/host/host_tools.ts";
import { runCommand } from "../harness/host/exec.ts";
import { compareVersions, parseVersion } from "../harness/core/version_range.ts";
import { type Arch, ARCHES } from "../harness/core/types.ts";

/** One release built in one pass. */
interface Built {
  tag: string;
  commit: string;
  /** The eras tried, in order; the last one built it unless `error` is set. */
  eras: string[];
  seconds: number;
  cpuSeconds: number;
  /** Compilations the compiler caches answered, and those they did not. */
  ccacheHits: number;
  ccacheMisses: number;
  /** Of `seconds`: exporting the commit's tree (0 when it was exported before). */
  exportSeconds: number;
  /** The cache entry of the build. */
  dir?: string;
  error?: string;
}

const PASSES = ["first", "warm", "cached"] as const;

/** The eras a build log shows make started in (`$ [bullseye] make …`), in order. */
function erasTried(log: string): string[] {
  return [...log.matchAll(/^\$ \[([\w-]+)\]/gm)].map((match) => match[1]);
}

/** The era roots made in `cacheDir` (none when it has no build-roots/). */
async function eraRoots(cacheDir: string): Promise<string[]> {
  const parent = join(cacheDir, "build-roots");
  const entries = await Array.fromAsync(Deno.readDir(parent)).catch(() => []);
  return entries.filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => join(parent, e.name, "root"));
}

/** Compiler cache hits and misses counted so far, summed over the host's and each era root's. */
async function ccacheCounts(cacheDir: string): Promise<{ hits: number; misses: number }> {
  const commands = [["env", `CCACHE_DIR=${join(cacheDir, "ccache")}`, "ccache", "--print-stats"]];
  // An era root's cache is read by the root's own ccache (its stats format).
  for (const root of await eraRoots(cacheDir)) {
    commands.push([...inRoot(root), "env", "CCACHE_DIR=/ccache", "ccache", "--print-stats"]);
  }
  const counts = { hits: 0, misses: 0 };
  for (const command of commands) {
    const { stdout } = await runCommand(command, { allowFailure: true });
    const count = (name: string) =>
      Number(stdout.match(new RegExp(`^${name}\\t(\\d+)`, "m"))?.[1] ?? 0);
    counts.hits += count("direct_cache_hit") + count("preprocessed_cache_hit");
    counts.misses += count("cache_miss");
  }
  return counts;
}

/** Empties every compiler cache of `cacheDir`: the host's and each era root's. */
async function emptyCompilerCaches(cacheDir: string): Promise<void> {
  const dirs = [
    join(cacheDir, "ccache"),
    ...(await eraRoots(cacheDir)).map((r) => join(r, "ccache")),
  ];
  for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

async function buildAll(
  repo: string,
  tags: readonly string[],
  arch: Arch,
  cacheDir: string,
  pass: string,
  coldEach: boolean,
): Promise<Built[]> {
  const built: Built[] = [];
  for (const tag of tags) {
    const commit = (await runCommand(["git", "-C", repo, "rev-parse", `${tag}^{commit}`])).stdout
      .trim();
    if (coldEach) await emptyCompilerCaches(cacheDir);
    const countsBefore = await ccacheCounts(cacheDir);
    const started = performance.now();
    const cpuBefore = await cpuSeconds();
    const measure = () => ({
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: 0,
      ccacheHits: 0,
      ccacheMisses: 0,
    });
    let entry: Built;
    const tree = await exportRevision(repo, commit, cacheDir);
    const exportSeconds = (performance.now() - started) / 1000;
    try {
      const build = await ensureCriuBuild({
        tree,
        commit,
        patches: [],
        arch,
        cacheDir,
        log: () => {},
      });
      const log = await Deno.readTextFile(build.buildLog).catch(() => "");
      entry = { tag, commit, eras: erasTried(log), ...measure(), exportSeconds };
      entry.dir = dirname(build.binary);
    } catch (error) {
      const message = (error as Error).message;
      const kept = message.match(/full log: (\S+)/)?.[1];
      const log = kept ? await Deno.readTextFile(kept).catch(() => "") : "";
      entry = { tag, commit, eras: erasTried(log), ...measure(), exportSeconds };
      entry.error = message.split("\n").slice(-3).join(" | ");
    }
    entry.cpuSeconds = (await cpuSeconds()) - cpuBefore;
    const counts = await ccacheCounts(cacheDir);
    entry.ccacheHits = counts.hits - countsBefore.hits;
    entry.ccacheMisses = counts.misses - countsBefore.misses;
    built.push(entry);
    console.log(
      [
        pass,
        tag,
        commit.slice(0, 12),
        entry.error ? `FAILED (${entry.eras.join(" ")})` : entry.eras.join(" > ") || "cached",
        `${entry.seconds.toFixed(0)} s wall`,
        `${entry.cpuSeconds.toFixed(0)} s CPU`,
        `export ${entry.exportSeconds.toFixed(0)} s`,
        `ccache ${entry.ccacheHits} hits ${entry.ccacheMisses} misses`,
        `load ${(await Deno.readTextFile("/proc/loadavg")).split(" ")[0]}`,
        ...(entry.error ? [entry.error] : []),
      ].join("\t"),
    );
  }
  return built;
}

if (import.meta.main) {
  const options = readBenchOptions(
    "bench:history",
    [
      "Usage: deno task bench:history --repo DIR [OPTIONS]",
      "",
      "How long building CRIU's releases takes here, one at a time in tag order.",
    ],
    [
      { name: "repo", value: "DIR", help: "A clone of CRIU's repository (required)." },
      { name: "from", value: "TAG", help: "The first release. Default: v3.11." },
      { name: "to", value: "TAG", help: "The last release. Default: the newest." },
      { name: "tags", value: "LIST", help: "These releases instead of --from/--to." },
      { name: "arch", value: "ARCH", help: `${ARCHES.join(" or ")}. Default: x86_64.` },
      { name: "cache", value: "DIR", help: "The cache. Default: the user's criu-matrix cache." },
      { name: "passes", value: "LIST", help: `Of ${PASSES.join(", ")}. Default: all.` },
      { name: "cold-each", help: "Empty --cache's compiler caches before each first build." },
      { name: "out", value: "FILE", help: "The figures as JSON." },
    ],
    (values) => {
      // A bad value is named even when --repo is missing too; then what is missing.
      const arch = parseChoice("arch", values.get("arch") ?? "x86_64", ARCHES);
      const passes = parseList(
        "passes",
        values.has("passes") ? [values.get("passes")!] : undefined,
        PASSES,
      );
      const repo = values.get("repo");
      if (repo === undefined) {
        throw new InputError("--repo DIR is required: a clone of CRIU's repository");
      }
      // Emptying the compiler caches of a cache others share would slow their builds down.
      const coldEach = values.has("cold-each");
      if (coldEach && !values.has("cache")) throw new InputError("--cold-each needs --cache DIR");
      return {
        repo,
        passes,
        coldEach,
        arch,
        from: values.get("from") ?? "v3.11",
        to: values.get("to"),
        tags: values.get("tags"),
        cache: values.get("cache"),
        out: values.get("out"),
      };
    },
  );
  const { repo, passes, arch } = options;
  const cacheDir = options.cache ?? defaultCacheDir();
  const all = await releaseTags(repo);
  const tags = options.tags
    ? options.tags.split(",").sort((a, b) =>
      compareVersions(parseVersion(a.slice(1)), parseVersion(b.slice(1)))
    )
    : tagsInRange(all, options.from, options.to ?? all.at(-1)!);
  await ensureCriuBuildDeps(arch, console.log);
  const roots = await eraRoots(cacheDir);
  console.log(`cache ${cacheDir}: era roots ${roots.length > 0 ? roots : "not made yet"}`);
  const summary: Record<string, unknown> = { arch, tags };
  let previous: Built[] = [];
  for (const pass of passes) {
    // Warm: the builds of the pass before go (no others: the cache may be shared), the compiler
    // caches and the recorded eras stay.
    if (pass === "warm") {
      for (const { dir } of previous) if (dir) await Deno.remove(dir, { recursive: true });
    }
    const started = performance.now();
    const cpuBefore = await cpuSeconds();
    previous = await buildAll(
      repo,
      tags,
      arch,
      cacheDir,
      pass,
      pass === "first" && options.coldEach,
    );
    const wall = (performance.now() - started) / 1000;
    const cpu = (await cpuSeconds()) - cpuBefore;
    summary[pass] = { wall, cpu, builds: previous };
    console.log(`${pass}: ${wall.toFixed(0)} s wall, ${cpu.toFixed(0)} s CPU`);
  }
  if (options.out) await Deno.writeTextFile(options.out, JSON.stringify(summary, null, 2));
}
