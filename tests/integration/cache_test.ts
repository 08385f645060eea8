/**
 * The image cache under damage, for real: a truncated image is detected by its content hash and
 * rebuilt, and of two runs building the same image at once one builds while the other waits for
 * it and reuses it.
 */
import assert from "assert";
import { join } from "node:path";
import { defaultCacheDir, ensureKernel, imageKey } from "../../vm/image.ts";
import { kernelRecipe } from "../../vm/recipes.ts";

const recipe = kernelRecipe("bookworm", "x86_64");

Deno.test("cache: a truncated image is rebuilt, concurrent builds do not collide", async (t) => {
  const good = await ensureKernel(recipe, defaultCacheDir());
  const goodSize = (await Deno.stat(good.bootFile)).size;

  await t.step("a truncated kernel fails its hash and is rebuilt", async () => {
    const cache = await Deno.makeTempDir({ prefix: "criu-matrix-cache-" });
    const copy = join(cache, "images", imageKey(recipe));
    await Deno.mkdir(join(cache, "images"), { recursive: true });
    const cp = await new Deno.Command("cp", { args: ["-a", good.dir, copy] }).output();
    assert.equal(cp.code, 0);
    await Deno.truncate(join(copy, "kernel"), 1000);
    const logged: string[] = [];
    const rebuilt = await ensureKernel(recipe, cache, (line) => logged.push(line));
    assert.ok(logged.some((line) => line.startsWith("building image")), logged.join("\n"));
    assert.equal((await Deno.stat(rebuilt.bootFile)).size, goodSize);
    await Deno.remove(cache, { recursive: true });
  });

  await t.step(
    "two builds of the same image at once: one builds, the other waits and reuses it",
    async () => {
      const cache = await Deno.makeTempDir({ prefix: "criu-matrix-cache-" });
      const logged: string[] = [];
      const [first, second] = await Promise.all([
        ensureKernel(recipe, cache, (line) => logged.push(line)),
        ensureKernel(recipe, cache, (line) => logged.push(line)),
      ]);
      assert.equal(first.dir, second.dir);
      assert.equal(
        logged.filter((line) => line.startsWith("building image")).length,
        1,
        logged.join("\n"),
      );
      assert.equal((await Deno.stat(first.bootFile)).size, goodSize);
      const leftovers = [];
      for await (const entry of Deno.readDir(join(cache, "images"))) {
        if (entry.name.startsWith(".building")) leftovers.push(entry.name);
      }
      assert.deepEqual(leftovers, []);
      await Deno.remove(cache, { recursive: true });
    },
  );
});
