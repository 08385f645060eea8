// CRIU revisions as --criu values, against a clone of CRIU's upstream history
// (../shared/criu-upstream.bundle, as CI has it). No build: names, ranges, errors and which
// releases a build fix is for.
import assert from "assert";
import { join } from "node:path";
import { resolveCustomCriu } from "../../harness/builds/custom_inputs.ts";
import { commitOf, exportRevision, releaseTags } from "../../harness/builds/criu_repo.ts";
import { buildFixesFor } from "../../harness/builds/build_fixes.ts";
import { runCommand } from "../../harness/host/exec.ts";
import { InputError } from "../../harness/core/errors.ts";
import { REPO_ROOT, tempDirRemovedAtUnload } from "../test_helpers.ts";

const BUNDLE = join(REPO_ROOT, "../shared/criu-upstream.bundle");

Deno.test("--criu-repo: revisions, release ranges and releases of CRIU's history", async (t) => {
  const repo = join(tempDirRemovedAtUnload("criu-repo-test-"), "criu");
  await runCommand(["git", "clone", "--quiet", BUNDLE, repo]);
  const resolve = async (item: string) =>
    (await resolveCustomCriu([item], { repo }))[item].map((spec) => spec.version);

  await t.step("a range names every release tag from A to B, tag and commit", async () => {
    assert.deepEqual(await resolve("v3.17..v3.18"), [
      "3.17-0-g4f8f295e57e6",
      "3.17.1-0-gd46f40f4ff0c",
      "3.18-0-g4c1a2ac41bb8",
    ]);
  });

  await t.step("a commit is named the way git describe names it", async () => {
    const [spec] = (await resolveCustomCriu(["c7858ba42"], { repo }))["c7858ba42"];
    assert.equal(spec.version, "3.17.1-12-gc7858ba42bed");
    assert.deepEqual(spec.origin, {
      kind: "revision",
      repo,
      rev: "c7858ba42",
      commit: "c7858ba42bed2e072ef3842046f4a6335e70ee44",
    });
  });

  await t.step(
    "releases: every tag with a tree this harness builds (compel/ since v3.0)",
    async () => {
      const versions = await resolve("releases");
      const tags = await releaseTags(repo);
      // 71 tags, 5 of them release candidates; 28 releases from v3.0 to v4.2 have compel/.
      assert.equal(tags.length, 66);
      assert.equal(versions.length, 28);
      assert.match(versions[0], /^3\.0-0-g/);
      assert.match(versions.at(-1)!, /^4\.2-0-g/);
    },
  );

  await t.step("--build-flags makes another CRIU of the same commit", async () => {
    const [spec] = (await resolveCustomCriu(["v3.18"], { repo, buildFlags: "debian-trixie" }))[
      "v3.18"
    ];
    assert.equal(spec.version, "3.18-0-g4c1a2ac41bb8+debian-trixie");
    assert.equal(spec.buildFlags, "debian-trixie");
  });

  await t.step("unknown revisions and range ends are named with what is accepted", async () => {
    await assert.rejects(
      resolveCustomCriu(["v3.18"], { repo: join(repo, "criu") }),
      (error) =>
        error instanceof InputError && /not the top of a git repository/.test(error.message),
    );
    await assert.rejects(
      resolveCustomCriu(["v3.18"], { repo, buildFlags: "debian-hamm" }),
      (error) =>
        error instanceof InputError &&
        /--build-flags: unknown value "debian-hamm"/.test(error.message),
    );
    await assert.rejects(
      resolveCustomCriu(["nosuch"], { repo }),
      (error) =>
        error instanceof InputError &&
        /--criu nosuch: not a revision of --criu-repo .*vA\.\.vB/.test(error.message),
    );
    await assert.rejects(
      resolveCustomCriu(["v3.17..v3.99"], { repo }),
      (error) =>
        error instanceof InputError && /v3\.99 is not a release tag.* v3\.18,/.test(error.message),
    );
  });

  await t.step(
    "the host compel fix: what aarch64 builds of v3.11 to v3.13 need, and it applies",
    async () => {
      const cache = tempDirRemovedAtUnload("criu-fix-test-");
      for (const tag of ["v3.11", "v3.12", "v3.13", "v3.14"]) {
        const tree = await exportRevision(repo, (await commitOf(repo, tag))!, cache);
        assert.deepEqual(await buildFixesFor(tree, "x86_64"), [], tag);
        const fixes = await buildFixesFor(tree, "aarch64");
        if (tag === "v3.14") {
          assert.deepEqual(fixes, [], tag);
          continue;
        }
        assert.deepEqual(fixes.map(({ fix }) => fix.name), ["compel-host-without-compel-h"], tag);
        await runCommand(["patch", "-p1", "--batch", "--dry-run", "-i", fixes[0].patch], {
          cwd: tree,
        });
      }
    },
  );
});
