// Real builds of Debian's CRIU 4.1.1 tarball, natively and cross for aarch64, in the shared
// cache (a cold run builds three CRIUs; a warm one only hashes the tree). Needs the build
// packages (ensureCriuBuildDeps installs them as root) and deb.debian.org for the first download.
import assert from "assert";
import { join } from "node:path";
import {
  classifyCriuArgument,
  CRIU_RUNTIME_PACKAGES,
  type CriuBuild,
  ensureCriuBuild,
  readElfArch,
} from "../../harness/builds/criu.ts";
import { ensureCriuBuildDeps } from "../../harness/host/host_tools.ts";
import { fetchDebianCriuSource } from "../criu_tarball.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { debianBuildFlags } from "../../harness/builds/build_flags.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import type { Arch } from "../../harness/core/types.ts";
import { readElfHead, tempDirRemovedAtUnload } from "../test_helpers.ts";

const CACHE = defaultCacheDir();
const VERSION = "4.1.1";
const MARK = "(criu-matrix test patch)";
const log = (line: string) => console.log(`    ${line}`);

const scratch = tempDirRemovedAtUnload("criu-source-test-");

let source: Promise<string> | null = null;
const tree = () => source ??= fetchDebianCriuSource(VERSION, CACHE);

const builds = new Map<string, Promise<CriuBuild>>();
function build(arch: Arch, patches: string[] = []): Promise<CriuBuild> {
  const key = `${arch}:${patches.join("+")}`;
  if (!builds.has(key)) {
    builds.set(
      key,
      (async () => {
        await ensureCriuBuildDeps(arch, log);
        return await ensureCriuBuild({ tree: await tree(), patches, arch, cacheDir: CACHE, log });
      })(),
    );
  }
  return builds.get(key)!;
}

/** A patch (made with diff -u against the tree) that changes the `--version` output. */
async function versionPatch(): Promise<string> {
  const dir = join(scratch, "patch");
  await Deno.mkdir(join(dir, "a/criu"), { recursive: true });
  await Deno.mkdir(join(dir, "b/criu"), { recursive: true });
  const original = await Deno.readTextFile(join(await tree(), "criu/config.c"));
  const changed = original.replace('"Version: %s\\n"', `"Version: %s ${MARK}\\n"`);
  assert.notEqual(changed, original, "criu/config.c prints the version as expected");
  await Deno.writeTextFile(join(dir, "a/criu/config.c"), original);
  await Deno.writeTextFile(join(dir, "b/criu/config.c"), changed);
  const diff = await runCommand([
    "diff",
    "-u",
    "--label=a/criu/config.c",
    "--label=b/criu/config.c",
    "a/criu/config.c",
    "b/criu/config.c",
  ], {
    cwd: dir,
    allowFailure: true,
  });
  const patch = join(scratch, "version.patch");
  await Deno.writeTextFile(patch, diff.stdout);
  return patch;
}

Deno.test("the x86_64 build runs and reports the tree's version", async () => {
  const b = await build("x86_64");
  assert.equal(b.arch, "x86_64");
  assert.equal(b.version, VERSION);
  assert.equal((await readElfHead(b.binary)).machine, 62, "e_machine = EM_X86_64");
  const { stdout } = await runCommand([b.binary, "--version"]);
  assert.match(stdout, new RegExp(`^Version: ${VERSION.replaceAll(".", "\\.")}$`, "m"));
  assert.deepEqual(b.origin, {
    tree: await tree(),
    commit: null,
    dirty: false,
    contentHash: b.origin.contentHash,
    patches: [],
  });
  assert.match(b.origin.contentHash, /^[0-9a-f]{64}$/);
  assert.match(await Deno.readTextFile(b.buildLog), /LINK +criu\/criu/);
  for (const pkg of b.runtimePackages) {
    assert.ok(pkg === "libc6" || CRIU_RUNTIME_PACKAGES.includes(pkg), pkg);
  }
  const again = await ensureCriuBuild({
    tree: await tree(),
    patches: [],
    arch: "x86_64",
    cacheDir: CACHE,
    log: () => assert.fail("a cached build is reused without building"),
  });
  assert.deepEqual(again, b);
});

Deno.test("the aarch64 cross build is an aarch64 binary with the same runtime needs", async () => {
  const b = await build("aarch64");
  assert.equal((await readElfHead(b.binary)).machine, 183, "e_machine = EM_AARCH64");
  assert.equal(await readElfArch(b.binary), "aarch64");
  assert.deepEqual(b.runtimePackages, (await build("x86_64")).runtimePackages);
  assert.ok(b.binary.includes(`/criu-builds/criu-${VERSION}-aarch64-`));
});

Deno.test("a patch is applied, changes the binary and the cache key", async () => {
  const patch = await versionPatch();
  const patched = await build("x86_64", [patch]);
  const plain = await build("x86_64");
  assert.notEqual(patched.binary, plain.binary);
  assert.equal(patched.origin.patches.length, 1);
  assert.equal(patched.origin.patches[0].path, patch);
  assert.match(patched.origin.patches[0].sha256, /^[0-9a-f]{64}$/);
  const { stdout } = await runCommand([patched.binary, "--version"]);
  assert.ok(stdout.includes(`Version: ${VERSION} ${MARK}`), stdout);
  assert.match(await Deno.readTextFile(patched.buildLog), /patching file criu\/config\.c/);
});

Deno.test("classifyCriuArgument: trees, patches and binaries", async (t) => {
  const src = await tree();
  await t.step("a tree, and a tree with patches (absolute paths)", async () => {
    assert.deepEqual(await classifyCriuArgument(src), { kind: "tree", tree: src, patches: [] });
    const patch = await versionPatch();
    assert.deepEqual(await classifyCriuArgument(`${src}+${patch}`), {
      kind: "tree",
      tree: src,
      patches: [patch],
    });
  });
  await t.step("a binary, alone or per arch", async () => {
    const x86 = (await build("x86_64")).binary;
    const arm = (await build("aarch64")).binary;
    assert.deepEqual(await classifyCriuArgument(arm), {
      kind: "binary",
      binaries: { aarch64: arm },
    });
    assert.deepEqual(await classifyCriuArgument(`x86_64=${x86},aarch64=${arm}`), {
      kind: "binary",
      binaries: { x86_64: x86, aarch64: arm },
    });
  });
  await t.step("bad values give errors naming them", async () => {
    await assert.rejects(
      classifyCriuArgument(scratch),
      new RegExp(
        `not a CRIU source tree: ${scratch} \\(expected criu/, compel/, Makefile.versions\\)`,
      ),
    );
    await assert.rejects(
      classifyCriuArgument(`${src}+no-such.patch`),
      /patch not found: .*\/no-such\.patch/,
    );
    await assert.rejects(
      classifyCriuArgument("/no/such/criu"),
      /--criu path not found: \/no\/such\/criu/,
    );
    const text = join(scratch, "notes.txt");
    await Deno.writeTextFile(text, "hello\n");
    await assert.rejects(classifyCriuArgument(text), /not an ELF file: .*notes\.txt/);
    const arm = (await build("aarch64")).binary;
    await assert.rejects(
      classifyCriuArgument(`x86_64=${arm}`),
      /--criu x86_64=.*: the binary is built for aarch64/,
    );
    await assert.rejects(classifyCriuArgument(`mips=${arm}`), /bad --criu item: mips=/);
  });
});

Deno.test("a patch that does not apply is named, and nothing is cached", async () => {
  // A cache of its own: nothing else builds there, before this test or beside it.
  const cache = join(scratch, "cache");
  const bad = join(scratch, "bad.patch");
  await Deno.writeTextFile(
    bad,
    "--- a/Makefile.versions\n+++ b/Makefile.versions\n@@ -1,3 +1,3 @@\n" +
      " no such line\n-CRIU_VERSION_MAJOR\t:= 99\n+CRIU_VERSION_MAJOR\t:= 98\n no such line\n",
  );
  await assert.rejects(
    ensureCriuBuild({
      tree: await tree(),
      patches: [bad],
      arch: "x86_64",
      cacheDir: cache,
      log: () => {},
    }),
    new RegExp(`patch does not apply: ${bad}`),
  );
  const left = [...Deno.readDirSync(join(cache, "criu-builds"))].map((e) => e.name);
  assert.deepEqual(left.filter((name) => name !== ".locks"), [], "no build, no temporary dir");
});

Deno.test("a tree built with --build-flags debian-trixie carries trixie's flags", async () => {
  const flags = await debianBuildFlags("debian-trixie", "x86_64", CACHE);
  // trixie's dpkg adds these to bookworm's hardening flags on amd64; CRIU's own have neither.
  assert.ok(flags?.CFLAGS.includes("-fstack-clash-protection"), flags?.CFLAGS);
  assert.ok(flags?.CFLAGS.includes("-fcf-protection"), flags?.CFLAGS);
  assert.equal(flags?.LDFLAGS, "-Wl,-z,relro");
  await ensureCriuBuildDeps("x86_64", log);
  const built = await ensureCriuBuild({
    flags,
    tree: await tree(),
    patches: [],
    arch: "x86_64",
    cacheDir: CACHE,
    log,
  });
  assert.deepEqual(built.flags, flags);
  // gcc records the options of every compilation unit in its debug info (-g is among the flags).
  const { stdout } = await runCommand([
    "sh",
    "-c",
    'readelf --debug-dump=info "$1" | grep -m1 -A0 "DW_AT_producer.*criu\\|DW_AT_producer"',
    "producer",
    built.binary,
  ]);
  assert.match(stdout, /-fstack-clash-protection/);
  assert.match(stdout, /-fcf-protection/);
  const plain = await build("x86_64");
  const { stdout: plainProducer } = await runCommand([
    "sh",
    "-c",
    'readelf --debug-dump=info "$1" | grep -m1 DW_AT_producer',
    "producer",
    plain.binary,
  ]);
  assert.doesNotMatch(plainProducer, /-fstack-clash-protection/);
});
