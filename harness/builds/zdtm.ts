/**
 * CRIU's own zdtm tests (`test/zdtm/static/NAME.c` with `test/zdtm/lib`), built from a CRIU tree
 * as static binaries for a guest arch, cached in `${cacheDir}/zdtm/ARCH-HASH/` (the hash covers
 * the lib, the Makefiles, the headers and the selected tests' sources and `.desc` files).
 *
 * ## Run protocol of a static zdtm test (from test/zdtm/lib/test.c, static/Makefile, zdtm.py)
 *
 * A busybox `sh` agent runs one test `T` in a fresh writable directory `D` holding the binary:
 *
 * 1. Start: `cd D && ./T --pidfile=T.pid --outfile=T.out` (the exact argv is
 *    `ZdtmTests.commands[T]`; some tests add e.g. `--filename=T.test`). Environment: nothing is
 *    required. zdtm.py also sets `ZDTM_UID=18943 ZDTM_GID=58467 ZDTM_GROUPS="27495 48244"` unless
 *    the `.desc` flags hold `suid` (the test then drops to that uid before creating its files, so
 *    `D` must be world-writable); leaving them unset runs the test as root, which the stopped*
 *    tests do not mind. Never set `ZDTM_NEWNS` (namespace flavour) or `ZDTM_NOTIFY_FDIN/FDOUT`
 *    (only for `pre-dump-notify` tests).
 * 2. Ready: the launcher forks the test daemon, which calls `setsid()` (a new session and process
 *    group, no controlling tty), points stdin at /dev/null and stdout/stderr at
 *    `D/T.out.inprogress`, sets up its state (stopped*: forks a child and stops it with SIGSTOP)
 *    and then signals readiness; the launcher writes the daemon's pid to `D/T.pid` and exits 0.
 *    So: wait for the launcher to exit; exit 0 and `D/T.pid` present means ready. A non-zero exit
 *    means the test failed to start; `D/T.out.inprogress` says why. zdtm.py allows 30 s
 *    (`timeout` in `.desc` overrides).
 * 3. Dump: `criu dump --tree $(cat D/T.pid) -D IMG -o dump.log -v4` (zdtm.py adds `--timeout 10`
 *    and the `.desc`'s `opts`/`dopts`). The pid in `T.pid` is the root of the tree to dump; for
 *    stopped* its child is the stopped task. No `--shell-job`: the test has no terminal. Keep
 *    `D/T.out.inprogress` in place: it is an open file of the test.
 * 4. Restore: `rm D/T.pid; criu restore -D IMG -o restore.log -v4 --restore-detached
 *    --pidfile D/T.pid` (plus `.desc` `opts`/`ropts`); the restored root gets its old pid.
 * 5. Finish: `kill -TERM $(cat D/T.pid)`. SIGTERM is the only finishing signal: the test's
 *    handler wakes its main loop, which checks its state (stopped*: waits for the child to be
 *    stopped, SIGCONTs it and reaps it), writes `PASS` or `FAIL: …` to its output and exits. At
 *    exit it renames `T.out.inprogress` to `T.out`, then unlinks `T.pid`.
 * 6. Verdict: wait (30 s) until `D/T.pid` is gone and `D/T.out` exists (do not rely on `kill -0`:
 *    the restored daemon is reparented to pid 1 and stays a zombie until pid 1 reaps it). The test
 *    passed when the LAST line of `D/T.out` contains the word `PASS` (zdtm.py: `tail -n1`, split on
 *    blanks); lines look like `12:00:00.000:   123: PASS`, failures `… FAIL: file.c:42: why …`.
 *    No `T.out` in time: the test hung or died; show `T.out.inprogress`.
 *
 * `.desc` files (a Python dict literal, absent for the stopped* tests) may say `flags`: `suid`
 * (run as root, see above), `crfail` (dump is expected to fail), `noauto` (not run by default),
 * `excl` (must run alone), `reqrst` (needs restore), `nouser`/`samens` (flavour limits),
 * `crlib`, `pre-dump-notify`; and `opts`/`dopts`/`ropts` (extra CRIU options) and `timeout`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { COMPILERS } from "./fixtures.ts";
import { runCommand } from "../host/exec.ts";
import { cachedBuildDir } from "../../vm/build_cache.ts";
import { copyTreeFiles, hashTreeFiles } from "./criu.ts";
import { sha256Hex } from "../host/sha256.ts";
import { InfraError, InputError } from "../core/errors.ts";
import type { Arch } from "../core/types.ts";

/** Built zdtm tests of one arch. */
export interface ZdtmTests {
  arch: Arch;
  /** Absolute directory holding the binaries (and `NAME.desc` when the tree has one). */
  dir: string;
  /** Absolute paths of the static test binaries, by test name. */
  programs: Record<string, string>;
  /** The argv that starts each test from `dir`, e.g. `["./stopped", "--pidfile=stopped.pid", …]`. */
  commands: Record<string, string[]>;
  /** The text of each test's `.desc` file, or null when it has none. */
  descs: Record<string, string | null>;
}

/** Bump when the way tests are built changes. */
const ZDTM_RECIPE = { version: 1, ldflags: "-static" } as const;
const MAKE_ARCH: Record<Arch, string> = { x86_64: "x86", aarch64: "aarch64" };
const AR: Record<Arch, string> = { x86_64: "ar", aarch64: "aarch64-linux-gnu-ar" };

async function listFiles(dir: string, filter: (name: string) => boolean): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) if (filter(entry.name)) names.push(entry.name);
  return names.sort();
}

/**
 * The test names `test/zdtm/static` of `tree` has (one per `NAME.c`).
 *
 * @example
 * ```ts ignore
 * import { listZdtmStaticTests } from "./zdtm.ts";
 * console.log((await listZdtmStaticTests("/src/criu")).includes("stopped")); // true
 * ```
 */
export async function listZdtmStaticTests(tree: string): Promise<string[]> {
  const dir = join(resolve(tree), "test/zdtm/static");
  const names = await listFiles(dir, (n) => n.endsWith(".c")).catch(() => {
    throw new InputError(`no zdtm tests in ${tree}: ${dir} is missing (not a CRIU source tree?)`);
  });
  return names.map((n) => n.slice(0, -2));
}

function makeVars(arch: Arch): string[] {
  // CC carries -static so that the link of every test, whatever its own LDFLAGS, is static;
  // PKG_CONFIG=false keeps optional host libraries (libbpf) out of the lib.
  return [
    `ARCH=${MAKE_ARCH[arch]}`,
    `CC=${COMPILERS[arch]} ${ZDTM_RECIPE.ldflags}`,
    `AR=${AR[arch]}`,
    "PKG_CONFIG=false",
  ];
}

/**
 * Builds the zdtm static tests `tests` of `tree` for `arch` as static binaries (or reuses the
 * cached build), with the exact command line that starts each one. Unknown names throw a
 * {@link InputError} listing what `test/zdtm/static` has; a failed build throws with make's
 * output. See the module documentation for how to run a test.
 *
 * @example
 * ```ts ignore
 * import { buildZdtmTests } from "./zdtm.ts";
 * const zdtm = await buildZdtmTests({
 *   tree: "/root/.cache/criu-matrix/sources/criu-4.1.1",
 *   tests: ["stopped", "stopped01", "stopped02", "stopped12"],
 *   arch: "aarch64",
 *   cacheDir: "/root/.cache/criu-matrix",
 *   log: console.log,
 * });
 * console.log(zdtm.commands.stopped); // ["./stopped", "--pidfile=stopped.pid", "--outfile=stopped.out"]
 * ```
 */
export async function buildZdtmTests(options: {
  tree: string;
  tests: string[];
  arch: Arch;
  cacheDir: string;
  log: (line: string) => void;
}): Promise<ZdtmTests> {
  const { arch, log } = options;
  const tree = resolve(options.tree);
  const tests = [...new Set(options.tests)].sort();
  if (tests.length === 0) throw new InputError("no zdtm tests selected");
  const available = await listZdtmStaticTests(tree);
  const unknown = tests.filter((t) => !available.includes(t));
  if (unknown.length > 0) {
    throw new InputError(
      `unknown zdtm test(s): ${unknown.join(", ")}; test/zdtm/static of ${tree} has: ` +
        available.join(" "),
    );
  }
  const zdtm = join(tree, "test/zdtm");
  // The lib's arch headers live in subdirectories: take every file under lib/.
  const { stdout } = await runCommand(["find", "lib", "-type", "f", "-printf", "%p\\0"], {
    cwd: zdtm,
  });
  const lib = stdout.split("\0").filter(Boolean);
  const staticFiles = await listFiles(join(zdtm, "static"), () => true);
  const selected = (name: string) =>
    name === "Makefile" || name.endsWith(".h") ||
    tests.some((t) => name === `${t}.c` || name === `${t}.desc`);
  const hashed = [
    "Makefile.inc",
    ...lib,
    ...staticFiles.filter(selected).map((n) => `static/${n}`),
  ];
  const key = {
    recipe: ZDTM_RECIPE,
    arch,
    tests,
    content: await hashTreeFiles(zdtm, hashed),
  };
  const hash = sha256Hex(JSON.stringify(key)).slice(0, 16);
  const root = join(resolve(options.cacheDir), "zdtm");

  const dir = await cachedBuildDir(root, `${arch}-${hash}`, async (tmp) => {
    log(`building zdtm tests ${tests.join(" ")} for ${arch} from ${tree}`);
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    // The whole static dir: a test may use helper sources its Makefile names (AUX_SRC).
    await copyTreeFiles(zdtm, [
      "Makefile.inc",
      ...lib,
      ...staticFiles.map((n) => `static/${n}`),
    ], src);
    const vars = makeVars(arch);
    const make = async (args: string[]) => {
      const out = await runCommand(["make", "--no-print-directory", ...args, ...vars], {
        cwd: src,
        allowFailure: true,
      });
      if (out.code !== 0) {
        throw new InfraError(
          `building zdtm tests for ${arch} failed: make ${args.join(" ")}\n` +
            (out.stdout + out.stderr).trimEnd().split("\n").slice(-25).join("\n"),
        );
      }
      return out.stdout;
    };
    await make(["-j2", "-C", "lib", "libzdtmtst.a"]);
    await make(["-j2", "-C", "static", ...tests]);
    const manifest: Omit<ZdtmTests, "dir" | "programs"> = { arch, commands: {}, descs: {} };
    for (const test of tests) {
      const binary = join(src, "static", test);
      const headers = (await runCommand(["readelf", "-l", binary])).stdout;
      if (/\bINTERP\b/.test(headers)) {
        throw new InfraError(`zdtm test ${test} was linked dynamically`);
      }
      await Deno.rename(binary, join(tmp, test));
      // The Makefile's NAME.pid rule is the command line that starts the test.
      const start = await make(["-s", "-n", "-C", "static", `${test}.pid`]);
      const line = start.split("\n").find((l) => l.startsWith(`./${test} `));
      if (!line) throw new InfraError(`cannot find how to start zdtm test ${test} in:\n${start}`);
      manifest.commands[test] = line.trim().split(/\s+/);
      const desc = await Deno.readTextFile(join(src, "static", `${test}.desc`)).catch(() => null);
      if (desc !== null) await Deno.writeTextFile(join(tmp, `${test}.desc`), desc);
      manifest.descs[test] = desc;
    }
    await Deno.remove(src, { recursive: true });
    await Deno.writeTextFile(join(tmp, "tests.json"), JSON.stringify(manifest, null, 2));
  }, async (candidate) => {
    try {
      await Deno.stat(join(candidate, "tests.json"));
      for (const test of tests) await Deno.stat(join(candidate, test));
      return true;
    } catch {
      return false;
    }
  });
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "tests.json")));
  return {
    ...manifest,
    dir,
    programs: Object.fromEntries(tests.map((t) => [t, join(dir, t)])),
  };
}
