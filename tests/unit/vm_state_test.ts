import assert from "assert";
import { join } from "node:path";
import { findVmState, MAX_VM_STATES, pruneVmStates } from "../../vm/vm_state.ts";

/** A saved-state entry as saveVmState writes it, last used `used` seconds after the epoch. */
async function entry(root: string, key: string, used: number, bytes = 4): Promise<void> {
  await Deno.mkdir(join(root, key), { recursive: true });
  await Deno.writeTextFile(join(root, key, "state"), "QEVM");
  const facts = join(root, key, "facts.json");
  await Deno.writeTextFile(
    facts,
    JSON.stringify({ facts: { criu_check: "0" }, bytes, bootCommands: [] }),
  );
  await Deno.utime(facts, used, used);
}

Deno.test("saved states: an entry is used only whole; the least recently used go", async (t) => {
  const cache = await Deno.makeTempDir({ prefix: "vm-state-test-" });
  const root = join(cache, "vm-states");
  try {
    await t.step(
      "a state at its recorded size is found and marked used; another is not",
      async () => {
        await entry(root, "x86_64-good", 1000);
        await entry(root, "x86_64-cut", 1000, 99);
        const found = await findVmState(cache, "x86_64-good");
        assert.deepEqual(found?.facts, { criu_check: "0" });
        const used = (await Deno.stat(join(root, "x86_64-good", "facts.json"))).mtime!.getTime();
        assert.ok(used > 1000_000, "not marked as used");
        assert.equal(await findVmState(cache, "x86_64-cut"), null);
        assert.equal(await findVmState(cache, "x86_64-none"), null);
      },
    );
    await t.step(
      `beyond ${MAX_VM_STATES} entries the least recently used are removed`,
      async () => {
        for (let i = 0; i < MAX_VM_STATES; i++) await entry(root, `aarch64-${i}`, 2000 + i);
        await pruneVmStates(root);
        const left = [];
        for await (const e of Deno.readDir(root)) left.push(e.name);
        // 18 entries: the two used longest ago (x86_64-cut at 1000 s, aarch64-0) are gone.
        assert.equal(left.length, MAX_VM_STATES);
        assert.ok(!left.includes("x86_64-cut") && !left.includes("aarch64-0"), left.join(" "));
        assert.ok(left.includes("x86_64-good"));
      },
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
