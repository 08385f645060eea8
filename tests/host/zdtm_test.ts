// Real builds of CRIU 4.1.1's zdtm stopped* tests (static, x86_64 and aarch64) in the shared
// cache, and the run protocol of harness/builds/zdtm.ts checked on the host without CRIU: start, ready,
// SIGTERM, verdict.
import assert from "assert";
import { join } from "node:path";
import { fetchDebianCriuSource } from "../criu_tarball.ts";
import { readElfArch } from "../../harness/builds/criu.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import type { Arch } from "../../harness/core/types.ts";
import { buildZdtmTests, listZdtmStaticTests, type ZdtmTests } from "../../harness/builds/zdtm.ts";
import { killAll, stat, waitFor } from "../test_helpers.ts";

const CACHE = defaultCacheDir();
const STOPPED = ["stopped", "stopped01", "stopped02", "stopped12"];

let source: Promise<string> | null = null;
const tree = () => source ??= fetchDebianCriuSource("4.1.1", CACHE);
const built = new Map<Arch, Promise<ZdtmTests>>();
function zdtm(arch: Arch): Promise<ZdtmTests> {
  if (!built.has(arch)) {
    built.set(
      arch,
      (async () =>
        await buildZdtmTests({
          tree: await tree(),
          tests: STOPPED,
          arch,
          cacheDir: CACHE,
          log: (l) => console.log(`    ${l}`),
        }))(),
    );
  }
  return built.get(arch)!;
}

function childrenOf(pid: number): number[] {
  return [...Deno.readDirSync("/proc")].map((e) => Number(e.name))
    .filter((p) => p && Number(stat(p)?.[1]) === pid);
}

/** zdtm tests start slower than the fixtures: wait longer, poll less often. */
const wait = <T>(what: string, fn: () => T | null | false) => waitFor(what, fn, 30_000, 20);

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

for (const arch of ["x86_64", "aarch64"] as const) {
  Deno.test(`buildZdtmTests builds static ${arch} stopped* tests with their command lines`, async () => {
    const z = await zdtm(arch);
    assert.deepEqual(Object.keys(z.programs).sort(), STOPPED);
    for (const [name, program] of Object.entries(z.programs)) {
      assert.equal(program, join(z.dir, name));
      assert.equal(await readElfArch(program), arch);
      const { stdout } = await runCommand(["readelf", "-l", program]);
      assert.doesNotMatch(stdout, /INTERP/, `${name} is static`);
      assert.deepEqual(z.commands[name], [
        `./${name}`,
        `--pidfile=${name}.pid`,
        `--outfile=${name}.out`,
      ]);
      assert.equal(z.descs[name], null, "the stopped tests have no .desc");
    }
    const again = await buildZdtmTests({
      tree: await tree(),
      tests: [...STOPPED].reverse(),
      arch,
      cacheDir: CACHE,
      log: () => assert.fail("a cached build is reused without building"),
    });
    assert.deepEqual(again, z);
  });
}

Deno.test("buildZdtmTests names unknown tests and lists the known ones", async () => {
  const known = await listZdtmStaticTests(await tree());
  assert.ok(known.includes("stopped12") && known.length > 400, `${known.length} tests`);
  await assert.rejects(
    buildZdtmTests({
      tree: await tree(),
      tests: ["stopped", "no-such-test"],
      arch: "x86_64",
      cacheDir: CACHE,
      log: () => {},
    }),
    /unknown zdtm test\(s\): no-such-test; test\/zdtm\/static of .* has: .*\bstopped12\b/,
  );
});

for (const name of STOPPED) {
  Deno.test(`zdtm protocol on the host, no CRIU: ${name} starts, stops its child, passes`, async () => {
    const z = await zdtm("x86_64");
    const dir = await Deno.makeTempDir({ prefix: `zdtm-${name}-` });
    let pid = 0;
    try {
      await Deno.copyFile(z.programs[name], join(dir, name));
      await Deno.chmod(join(dir, name), 0o755);
      // 1-2. start; the launcher exits 0 once the test is ready and T.pid is written.
      const [program, ...args] = z.commands[name];
      const launcher = await new Deno.Command(program, { args, cwd: dir, stdin: "null" }).output();
      assert.equal(launcher.code, 0, "the launcher reports ready");
      pid = Number(Deno.readTextFileSync(join(dir, `${name}.pid`)).trim());
      const [state, , pgrp, session] = stat(pid)!;
      assert.notEqual(state, "Z");
      assert.equal(Number(session), pid, "the test called setsid()");
      assert.equal(Number(pgrp), pid);
      const children = childrenOf(pid);
      assert.equal(children.length, 1, "one child");
      await wait("the child to stop", () => stat(children[0])?.[0] === "T");
      assert.ok(exists(join(dir, `${name}.out.inprogress`)));
      assert.ok(!exists(join(dir, `${name}.out`)));
      // 5. finish with SIGTERM; 6. verdict once T.pid is gone and T.out is there.
      Deno.kill(pid, "SIGTERM");
      await wait(
        "T.out and no T.pid",
        () => exists(join(dir, `${name}.out`)) && !exists(join(dir, `${name}.pid`)),
      );
      const out = Deno.readTextFileSync(join(dir, `${name}.out`));
      const last = out.trimEnd().split("\n").pop()!;
      assert.ok(last.split(/\s+/).includes("PASS"), `last line of ${name}.out: ${out}`);
      pid = 0;
    } finally {
      if (pid) killAll([...childrenOf(pid), pid]);
      await Deno.remove(dir, { recursive: true });
    }
  });
}
