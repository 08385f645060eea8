/**
 * procview, the agent's reader of /proc, on this host: the lines the agent's shell loop used to
 * say (tests/unit has the protocol; here the values come from real tasks).
 */
import assert from "assert";
import { buildFixtures } from "../../harness/builds/fixtures.ts";
import { defaultCacheDir } from "../../vm/image.ts";

const { programs } = await buildFixtures("x86_64", defaultCacheDir());

async function procview(...args: string[]): Promise<{ code: number; lines: string[] }> {
  const out = await new Deno.Command(programs.procview, { args, stdout: "piped" }).output();
  return { code: out.code, lines: new TextDecoder().decode(out.stdout).split("\n").slice(0, -1) };
}

Deno.test("procview reports a stopped task and a missing one as the agent's KV lines", async () => {
  const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
  try {
    Deno.kill(child.pid, "SIGSTOP");
    // The stop takes effect when the child is scheduled.
    let state = "";
    for (let i = 0; i < 100 && state !== "T"; i++) {
      state = (await Deno.readTextFile(`/proc/${child.pid}/stat`)).split(") ")[1][0];
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const { code, lines } = await procview("n0nce c1", "before", "root", String(child.pid));
    assert.equal(code, 0);
    const [pgid, sid] = (await Deno.readTextFile(`/proc/${child.pid}/stat`)).split(") ")[1]
      .split(" ").slice(2, 4);
    assert.deepEqual(lines.slice(0, 4), [
      "n0nce c1 KV before task.root.present yes",
      `n0nce c1 KV before task.root.ppid ${Deno.pid}`,
      `n0nce c1 KV before task.root.pgid ${pgid}`,
      `n0nce c1 KV before task.root.sid ${sid}`,
    ]);
    assert.equal(lines[4], "n0nce c1 KV before task.root.Threads 1");
    assert.match(lines[5], /^n0nce c1 KV before task\.root\.SigIgn [0-9a-f]{16}$/);
    assert.deepEqual(lines.slice(8, 10), [
      `n0nce c1 KV before thread.root.0.tid ${child.pid}`,
      "n0nce c1 KV before thread.root.0.State T",
    ]);
    assert.equal(lines.length, 12);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  const gone = await procview("n0nce c1", "after", "target", String(child.pid));
  assert.deepEqual(gone.lines, ["n0nce c1 KV after task.target.present no"]);
});

Deno.test("procview counts the processes started since boot; a bad command line exits 2", async () => {
  const { lines } = await procview("n0nce c1", "--processes");
  assert.match(lines[0], /^n0nce c1 KV cost processes \d+$/);
  assert.equal((await procview("n0nce c1", "before", "root")).code, 2);
});

Deno.test("procview sends each line of a CRIU step's files as LOG lines, a missing file as none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/dump.log`, "(00.1) first\n\nlast, no newline");
    const { code, lines } = await procview(
      "n0nce c1",
      "--logs",
      "dump",
      `${dir}/dump.log`,
      "dump-output",
      `${dir}/missing.out`,
    );
    assert.equal(code, 0);
    assert.deepEqual(lines, [
      "n0nce c1 LOG dump (00.1) first",
      "n0nce c1 LOG dump ",
      "n0nce c1 LOG dump last, no newline",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
