import assert from "assert";
import { join } from "node:path";
import { debVersion, unpackDebs } from "../../vm/debian_apt.ts";
import { runCommand } from "../../harness/host/exec.ts";

/** Builds `name_version_all.deb` in `debs` holding `files` (path → [content, mode]). */
async function buildDeb(
  debs: string,
  name: string,
  version: string,
  files: Record<string, [string, number]>,
): Promise<void> {
  const tree = await Deno.makeTempDir({ prefix: "deb-tree-" });
  try {
    await Deno.mkdir(join(tree, "DEBIAN"));
    await Deno.writeTextFile(
      join(tree, "DEBIAN/control"),
      `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: t <t@example.org>\n` +
        `Description: test\n`,
    );
    for (const [path, [content, mode]] of Object.entries(files)) {
      await Deno.mkdir(join(tree, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(tree, path), content);
      await Deno.chmod(join(tree, path), mode);
    }
    await runCommand([
      "dpkg-deb",
      "--root-owner-group",
      "--build",
      tree,
      join(debs, `${name}_${version}_all.deb`),
    ]);
  } finally {
    await Deno.remove(tree, { recursive: true });
  }
}

Deno.test("Debian packages as files", async (t) => {
  const scratch = await Deno.makeTempDir({ prefix: "debian-apt-test-" });
  const debs = join(scratch, "debs");
  await Deno.mkdir(debs);
  await buildDeb(debs, "criu", "4.2.1-1", {
    "usr/sbin/criu": ["#!/bin/sh\n", 0o4755],
    "usr/share/doc/criu/changelog.gz": ["", 0o644],
  });
  await buildDeb(debs, "libc6", "2.43-7", {
    "usr/lib/x86_64-linux-gnu/libc.so.6": ["elf", 0o755],
    "usr/lib/x86_64-linux-gnu/gconv/IBM1390.so": ["elf", 0o644],
    "usr/share/locale/de/LC_MESSAGES/libc.mo": ["mo", 0o644],
  });

  await t.step(
    "every package is unpacked, modes as packaged, excluded paths never written",
    async () => {
      const root = join(scratch, "root");
      await Deno.mkdir(root);
      await unpackDebs(debs, root, ["./usr/share/doc", "./usr/share/locale", "./usr/lib/*/gconv"]);
      assert.equal((await Deno.stat(join(root, "usr/sbin/criu"))).mode! & 0o7777, 0o4755);
      assert.equal(
        await Deno.readTextFile(join(root, "usr/lib/x86_64-linux-gnu/libc.so.6")),
        "elf",
      );
      for (const gone of ["usr/share/doc", "usr/share/locale", "usr/lib/x86_64-linux-gnu/gconv"]) {
        await assert.rejects(Deno.lstat(join(root, gone)), Deno.errors.NotFound, gone);
      }
    },
  );

  await t.step("a broken package fails the unpack", async () => {
    await Deno.writeTextFile(join(debs, "broken_1_all.deb"), "not a deb");
    await Deno.mkdir(join(scratch, "root2"));
    await assert.rejects(unpackDebs(debs, join(scratch, "root2")), /broken_1_all\.deb/);
    await Deno.remove(join(debs, "broken_1_all.deb"));
  });

  await t.step("a package's version is read from its .deb", async () => {
    assert.equal(await debVersion(debs, "criu"), "4.2.1-1");
    await assert.rejects(debVersion(debs, "busybox-static"), /no busybox-static package/);
  });

  await Deno.remove(scratch, { recursive: true });
});
