/**
 * `task repro` without a VM: the replay script made from a recorded cell, the agent's CMD lines,
 * hang diagnoses under hostile input, and the command line's refusals (exit 2, nothing written).
 */
import assert from "assert";
import { join } from "node:path";
import { mainQuietly } from "./main_quietly.ts";
import { parseAgentLine } from "../../vm/agent_protocol.ts";
import { emptyObservations, recordMessage } from "../../harness/core/observations.ts";
import { HANG_LIMITS, hangDiagnoses } from "../../harness/core/hang.ts";
import { reproScript } from "../../harness/core/repro_script.ts";
import { parseResults } from "../../harness/core/results.ts";
import { makeCell, resultsWith } from "./results_fixture.ts";
import { HOSTILE_STRINGS, reportProblems } from "./hostile_fixture.ts";
import { renderHtmlReport, renderMarkdownReport } from "../../reports/mod.ts";

const NONCE = "0123456789abcdef";

Deno.test("the agent's CMD lines: out, limit and the words, strictly", () => {
  assert.deepEqual(
    parseAgentLine(`${NONCE} sigttin CMD /run/x/dump.out 60 criu dump -t 7 -o 'a b'`, NONCE),
    {
      type: "CMD",
      cell: "sigttin",
      out: "/run/x/dump.out",
      limit: 60,
      command: "criu dump -t 7 -o 'a b'",
    },
  );
  assert.deepEqual(parseAgentLine(`${NONCE} c CMD - - snapshot before`, NONCE), {
    type: "CMD",
    cell: "c",
    out: null,
    limit: null,
    command: "snapshot before",
  });
  for (const bad of ["CMD - -", "CMD - 1e9 x", "CMD a b x", "CMD -", "CMD - - x\x1b[2J"]) {
    assert.equal(parseAgentLine(`${NONCE} c ${bad}`, NONCE), null, bad);
  }
});

Deno.test("the replay script runs the recorded commands with the replay's own pids", () => {
  const script = reproScript({
    id: "4.1.1/x86_64/trixie/sigttin",
    cell: "sigttin",
    outcome: "fail at dump",
    zdtm: false,
    commands: [
      { out: null, limit: null, command: "threads=1 stop=SIGTTIN via=kill" },
      {
        out: "/run/criu-matrix/sigttin/launch.out",
        limit: null,
        command: "/opt/criu-matrix/stopfix --dir /run/criu-matrix/sigttin --threads 1",
      },
      { out: null, limit: null, command: "root=177 target=178" },
      { out: null, limit: null, command: "kill -TTIN 178" },
      { out: null, limit: null, command: "wait_for 50 test -d /proc/178" },
      {
        out: "/run/criu-matrix/sigttin/dump.out",
        limit: 60,
        command: "criu dump -t 177 -D /run/criu-matrix/sigttin/images -o dump.log -v4",
      },
    ],
  });
  const lines = script.split("\n");
  assert.ok(lines.includes('read_key_into root "$DIR/ready" root'));
  assert.ok(lines.includes("kill -TTIN ${target}"));
  assert.ok(lines.includes("wait_for 50 test -d /proc/${target}"));
  assert.ok(lines.includes("threads=1 stop=SIGTTIN via=kill"));
  assert.ok(
    lines.includes(
      "timeout -s KILL 60 criu dump -t ${root} -D /run/criu-matrix/sigttin/images -o dump.log " +
        "-v4 3>&- </dev/null >'/run/criu-matrix/sigttin/dump.out' 2>&1",
    ),
  );
  assert.ok(lines.includes("grep -F 'Error (' '/run/criu-matrix/sigttin/images/dump.log'"));
  // Numbers that are not the tree's pids stay as they are.
  assert.ok(lines.includes("wait_for 50 test -d /proc/${target}"));
});

Deno.test("hang diagnoses keep within their caps whatever the guest sends", () => {
  const seen = emptyObservations();
  const kv = (phase: string, key: string, value: string) =>
    recordMessage(seen, { type: "KV", cell: "c", phase, key, value });
  for (let n = 0; n < HANG_LIMITS.diagnoses + 3; n++) kv(`hang.x${n}`, "reason", "r");
  for (let tid = 0; tid < HANG_LIMITS.tasks + 10; tid++) {
    kv("hang.x0", `task.${tid}.pid`, "1");
    kv("hang.x0", `task.${tid}.stack`, Array(100).fill("f").join(" | "));
  }
  kv("hang.x1", "task.5.pid", "5");
  kv("hang.x1", "task.5.comm", "c".repeat(10_000));
  const hangs = hangDiagnoses(seen);
  assert.equal(hangs.length, HANG_LIMITS.diagnoses);
  assert.equal(hangs[0].tasks.length, HANG_LIMITS.tasks);
  assert.equal(hangs[0].tasks[0].stack.length, HANG_LIMITS.frames);
  assert.match(hangs[0].cut!, /10 threads/);
  assert.ok(hangs[1].tasks[0].comm.length <= HANG_LIMITS.chars + 6);
});

Deno.test("task repro refuses bad input with one line and exit 2, writing nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "repro-test-" });
  const cell = makeCell();
  await Deno.writeTextFile(join(dir, "results.json"), JSON.stringify(resultsWith([cell])));
  const id = `${cell.criu.version}/${cell.arch}/${cell.kernel.name}/${cell.case}`;
  const entries = async () => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);

  await t.step("a DIR that is no directory", async () => {
    const { code, lines } = await mainQuietly(["repro", join(dir, "nope"), "--cell", id]);
    assert.equal(code, 2);
    assert.match(lines[0], /nope" is not a directory; give a run directory holding results/);
  });
  await t.step("no DIR, or two", async () => {
    assert.equal((await mainQuietly(["repro", "--cell", id])).code, 2);
    assert.equal((await mainQuietly(["repro", dir, dir, "--cell", id])).code, 2);
  });
  await t.step("an unknown cell names it and the accepted ones", async () => {
    const { code, lines } = await mainQuietly(["repro", dir, "--cell", "9.9/x86_64/a/b\x1b"]);
    assert.equal(code, 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /no cell "9\.9\/x86_64\/a\/b\\u001b" in .*; accepted: /);
    assert.ok(lines[0].includes(id));
  });
  await t.step("a cell without a record of its commands", async () => {
    const { code, lines } = await mainQuietly(["repro", dir, "--cell", id]);
    assert.equal(code, 2);
    assert.match(lines[0], /has no record of its guest's commands/);
  });
  await t.step("a boot record naming files outside the cache", async () => {
    const forged = {
      ...cell,
      commands: [{ out: null, limit: null, command: "snapshot before" }],
      boot: { qemu: [], kernel: "/etc/passwd", initrdParts: [], files: {} },
    };
    const text = JSON.stringify(resultsWith([forged]));
    parseResults(text, "results.json");
    await Deno.writeTextFile(join(dir, "results.json"), text);
    const { code, lines } = await mainQuietly(["repro", dir, "--cell", id]);
    assert.equal(code, 2);
    assert.match(lines[0], /kernel \/etc\/passwd is not inside the build cache/);
  });
  assert.deepEqual(await entries(), ["results.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reports show a hang briefly and stay inert with hostile guest text", () => {
  for (const hostile of HOSTILE_STRINGS) {
    const cell = makeCell({
      verdict: "fail",
      stage: "dump",
      hangs: [{
        name: hostile,
        reason: hostile,
        tasks: [{
          pid: "9",
          tid: "9",
          comm: hostile,
          state: "S",
          wchan: hostile,
          stack: [hostile],
        }],
        criuLog: { log: "dump", tail: [hostile] },
        cut: null,
      }],
    });
    const results = resultsWith([cell]);
    assert.deepEqual(reportProblems(results), [], JSON.stringify(hostile));
    assert.match(renderMarkdownReport(results, []), /^- Hang \(/m);
    assert.match(renderHtmlReport(results, []), /<h3>Hang: /);
  }
});
