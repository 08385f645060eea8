// Real tests of the C fixtures, run on the host (x86_64 build): they stop, probe, continue and
// terminate the fixture the way the in-guest agent does, and read the same report files.
import assert from "assert";
import { buildFixtures, FIXTURE_PROGRAMS, type FixtureSet } from "../../harness/builds/fixtures.ts";
import {
  killTree,
  ppid,
  readElfHead,
  stat,
  tempDirRemovedAtUnload,
  waitFor,
} from "../test_helpers.ts";

const CACHE = tempDirRemovedAtUnload("criu-matrix-fixtures-test-");

let built: Promise<FixtureSet> | null = null;
function hostFixtures(): Promise<FixtureSet> {
  return built ??= buildFixtures("x86_64", CACHE);
}

// ---- helpers ----

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

function readKV(path: string): Record<string, string> | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  const kv: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  return kv;
}

const state = (pid: number) => stat(pid)?.[0] ?? "gone";

interface Started {
  dir: string;
  root: number;
  target: number;
  tids: number[];
}

async function startStopfix(fx: FixtureSet, args: string[]): Promise<Started> {
  const dir = await Deno.makeTempDir({ prefix: "stopfix-" });
  const r = await run(fx.programs.stopfix, ["--dir", dir, ...args]);
  assert.equal(r.code, 0, `stopfix failed: ${r.err}`);
  const ready = readKV(`${dir}/ready`);
  assert.ok(ready, "DIR/ready exists once the launcher returns");
  return {
    dir,
    root: Number(ready.root),
    target: Number(ready.target),
    tids: ready.tids.split(",").map(Number),
  };
}

async function cleanup(s: Started | null, extra: number[] = []) {
  if (!s) return;
  killTree([s.root, s.target, ...extra]);
  await Deno.remove(s.dir, { recursive: true }).catch(() => {});
}

/** Sends SIGUSR1 to R until DIR/parent satisfies `ok`; returns the last DIR/parent. */
async function askParent(s: Started, ok: (p: Record<string, string>) => boolean) {
  let last: Record<string, string> | null = null;
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    try {
      Deno.removeSync(`${s.dir}/parent`);
    } catch { /* first time */ }
    Deno.kill(s.root, "SIGUSR1");
    last = await waitFor("DIR/parent", () => readKV(`${s.dir}/parent`));
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  return last!;
}

async function probe(fx: FixtureSet, pid: number): Promise<Map<number, string>> {
  const r = await run(fx.programs.stopprobe, [String(pid)]);
  assert.equal(r.code, 0, r.err);
  const m = new Map<number, string>();
  for (const line of r.out.trim().split("\n")) {
    const g = /^tid=(\d+) probe=(\S+)$/.exec(line);
    assert.ok(g, `probe line: ${line}`);
    m.set(Number(g[1]), g[2]);
  }
  return m;
}

function assertProbe(m: Map<number, string>, tids: number[], want: string) {
  assert.deepEqual([...m.keys()].sort(), [...tids].sort());
  for (const t of tids) assert.equal(m.get(t), want, `thread ${t}`);
}

const result = (s: Started) => waitFor("DIR/result", () => readKV(`${s.dir}/result`));
const exit = (s: Started) => waitFor("DIR/exit", () => readKV(`${s.dir}/exit`));

// ---- tests ----

Deno.test("buildFixtures builds static binaries once and reuses them", async () => {
  const fx = await hostFixtures();
  assert.equal(fx.arch, "x86_64");
  assert.ok(fx.dir.startsWith(`${CACHE}/fixtures/x86_64-`));
  assert.deepEqual(Object.keys(fx.programs).sort(), [...FIXTURE_PROGRAMS].sort());
  for (const p of Object.values(fx.programs)) {
    assert.ok((Deno.statSync(p).mode ?? 0) & 0o100, `${p} is executable`);
  }
  const mtime = Deno.statSync(fx.programs.stopfix).mtime;
  const again = await buildFixtures("x86_64", CACHE);
  assert.deepEqual(again, fx);
  assert.deepEqual(Deno.statSync(again.programs.stopfix).mtime, mtime);
  // The cache's lock files stay (they are what builders take turns on); build dirs do not.
  const left = [...Deno.readDirSync(`${CACHE}/fixtures`)].map((e) => e.name)
    .filter((name) => name !== ".locks");
  assert.deepEqual(left, [fx.dir.split("/").pop()], "no temporary build directory is left");
});

for (
  const [handler, threads, signal] of [
    ["none", 1, "SIGTSTP"],
    ["reraise", 3, "SIGTSTP"],
    ["sigstop", 3, "SIGSTOP"],
  ] as const
) {
  Deno.test(`stopfix --handler ${handler} --threads ${threads}: stop, probe, continue, terminate`, async () => {
    const fx = await hostFixtures();
    let s: Started | null = null;
    try {
      s = await startStopfix(fx, ["--threads", String(threads), "--handler", handler]);
      const st = s;
      assert.equal(st.tids.length, threads);
      assert.equal(st.tids[0], st.target);
      assert.equal(ppid(st.target), st.root);
      const [, , rootPgrp, rootSid] = stat(st.root)!;
      const [, , pgrp, sid] = stat(st.target)!;
      assert.equal(Number(rootSid), st.root, "R is a session leader");
      assert.equal(sid, rootSid);
      assert.equal(Number(pgrp), st.target, "T has its own process group");
      assert.notEqual(pgrp, rootPgrp);

      Deno.kill(st.target, "SIGTSTP");
      await waitFor("all threads stopped", () => st.tids.every((t) => state(t) === "T"));
      const want = `stopped:${signal}`;
      let parent = await askParent(st, (p) => p.wait === want && p.chld_stopped === "1");
      assert.deepEqual(parent, {
        wait: want,
        chld_stopped: "1",
        chld_continued: "0",
        last: `CLD_STOPPED:${signal}`,
      });

      assertProbe(await probe(fx, st.target), st.tids, want);
      for (const t of st.tids) {
        assert.equal(state(t), "T", `thread ${t} stays stopped after the probe`);
      }
      parent = await askParent(st, (p) => p.wait === want);
      assert.equal(parent.wait, want, "the parent still sees the same stop after the probe");

      Deno.kill(st.target, "SIGCONT");
      await waitFor("T running", () => state(st.target) !== "T");
      parent = await askParent(st, (p) => p.wait === "continued" && p.chld_continued === "1");
      assert.deepEqual(parent, {
        wait: "continued",
        chld_stopped: "1",
        chld_continued: "1",
        last: "CLD_CONTINUED",
      });

      Deno.kill(st.target, "SIGTERM");
      const handled = handler === "none" ? "0" : "1";
      assert.deepEqual(await result(st), {
        verdict: "PASS",
        memory: "ok",
        threads: String(threads),
        progressed: String(threads),
        tstp_handled: handled,
        cont_handled: handled,
        pending: "none",
        reasons: "none",
        progress_wait: "done",
        lagging: "none",
      });
      assert.deepEqual(await exit(st), { target: "exited:0" });
    } finally {
      await cleanup(s);
    }
  });
}

Deno.test("stopprobe sees running threads and leaves them running", async () => {
  const fx = await hostFixtures();
  let s: Started | null = null;
  try {
    s = await startStopfix(fx, ["--threads", "4"]);
    assertProbe(await probe(fx, s.target), s.tids, "running");
    Deno.kill(s.target, "SIGTERM");
    const r = await result(s);
    assert.equal(r.verdict, "PASS");
    assert.equal(r.progressed, "4");
  } finally {
    await cleanup(s);
  }
  const err = await run(fx.programs.stopprobe, ["999999999"]);
  assert.equal(err.code, 0);
  assert.equal(err.out.trim(), "tid=999999999 probe=error:ESRCH");
});

Deno.test("stopfix --block SIGUSR2 keeps the signal pending, and fails without it", async () => {
  const fx = await hostFixtures();
  let s: Started | null = null;
  try {
    s = await startStopfix(fx, ["--threads", "2", "--block", "SIGUSR2"]);
    const st = s;
    Deno.kill(st.target, "SIGUSR2");
    Deno.kill(st.target, "SIGTSTP");
    await waitFor("T stopped", () => state(st.target) === "T");
    Deno.kill(st.target, "SIGCONT");
    await waitFor("T running", () => state(st.target) !== "T");
    Deno.kill(st.target, "SIGTERM");
    const r = await result(st);
    assert.equal(r.pending, "SIGUSR2");
    assert.equal(r.verdict, "PASS", JSON.stringify(r));
    assert.deepEqual(await exit(st), { target: "exited:0" });
  } finally {
    await cleanup(s);
  }
  try {
    s = await startStopfix(fx, ["--block", "SIGUSR2"]);
    Deno.kill(s.target, "SIGTERM");
    const r = await result(s);
    assert.equal(r.verdict, "FAIL");
    assert.equal(r.pending, "none");
    assert.equal(r.reasons, "pending");
    assert.deepEqual(await exit(s), { target: "exited:1" });
  } finally {
    await cleanup(s);
  }
});

Deno.test("stopfix scenario pieces: interrupted calls, signal state, family tree", async (t) => {
  const fx = await hostFixtures();
  /** Stops the target by SIGSTOP, continues it, tells it to end, and returns its result. */
  const stopContinueEnd = async (st: Started, waitMs = 5000) => {
    Deno.kill(st.target, "SIGSTOP");
    await waitFor("T stopped", () => state(st.target) === "T");
    Deno.kill(st.target, "SIGCONT");
    await waitFor("T running", () => state(st.target) !== "T");
    Deno.kill(st.target, "SIGTERM");
    return await waitFor("DIR/result", () => readKV(`${st.dir}/result`), waitMs);
  };
  for (const [call, ret] of [["pipe-read", "1"], ["futex", "0"], ["nanosleep", "0"]]) {
    await t.step(
      `--call ${call}: stopped inside it, the call goes on and returns ${ret}`,
      async () => {
        let s: Started | null = null;
        try {
          s = await startStopfix(fx, ["--threads", "2", "--call", call]);
          // The 4 s nanosleep goes on after SIGCONT: its result comes after it.
          const r = await stopContinueEnd(s, 15000);
          const got = [r.call_ret, r.call_errno, r.verdict];
          assert.deepEqual(got, [ret, "0", "PASS"], JSON.stringify(r));
        } finally {
          await cleanup(s);
        }
      },
    );
  }
  await t.step("--block-set, --catch: what stays pending and how often handlers run", async () => {
    let s: Started | null = null;
    try {
      // SIGCONT 18, SIGTSTP 20 and SIGRTMIN+2 (36) blocked; SIGCONT and 36 caught.
      s = await startStopfix(fx, ["--block-set", "18,20,36", "--catch", "18,36"]);
      // Deno.kill knows no realtime signals: kill(1) sends them, each queued once per call.
      for (const signal of ["36", "36", "36", "20"]) {
        assert.equal((await run("kill", [`-${signal}`, String(s.target)])).code, 0);
      }
      const r = await stopContinueEnd(s);
      assert.deepEqual([r["sig.18"], r["sig.20"], r["sig.36"]], [
        "pending=yes handled=1",
        "pending=no handled=0",
        "pending=yes handled=3",
      ]);
    } finally {
      await cleanup(s);
    }
  });
  await t.step("--tree family: a sibling stopped by SIGTSTP, its child running", async () => {
    let s: Started | null = null;
    const family: number[] = []; // sibling, grandchild
    try {
      s = await startStopfix(fx, ["--tree", "family"]);
      const dir = s.dir;
      await waitFor("DIR/family", () => readKV(`${dir}/family`) !== null);
      const kv = readKV(`${dir}/family`)!;
      family.push(Number(kv.sibling), Number(kv.grandchild));
      const [sibling, grandchild] = family;
      await waitFor("sibling stopped", () => state(sibling) === "T");
      assert.deepEqual([ppid(sibling), ppid(grandchild)], [s.root, sibling]);
      assert.match(state(grandchild), /^[RS]$/);
    } finally {
      await cleanup(s, family);
    }
  });
});

/**
 * Holds one thread of a running process in a ptrace stop (`t`), as a debugger would, while the
 * others run: what a thread the scheduler never picks looks like to the fixture. Through libc,
 * since no program on the host does only this. Call the result to let the thread go (if it is
 * still there: a process that exits takes its held thread with it).
 */
function holdThread(tid: number): () => void {
  const libc = Deno.dlopen("libc.so.6", {
    ptrace: { parameters: ["i64", "i32", "pointer", "pointer"], result: "i64" },
    waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  });
  const [PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT, WALL] = [17, 0x4206, 0x4207, 0x40000000];
  assert.equal(libc.symbols.ptrace(BigInt(PTRACE_SEIZE), tid, null, null), 0n, "PTRACE_SEIZE");
  assert.equal(libc.symbols.ptrace(BigInt(PTRACE_INTERRUPT), tid, null, null), 0n);
  assert.equal(libc.symbols.waitpid(tid, new Uint8Array(4), WALL), tid);
  return () => {
    // A thread that died held is this process's to reap, or its process never ends.
    if (libc.symbols.ptrace(BigInt(PTRACE_DETACH), tid, null, null) !== 0n) {
      libc.symbols.waitpid(tid, new Uint8Array(4), WALL);
    }
    libc.close();
  };
}

Deno.test("stopfix's self-check waits for every thread to move on, not for a time", async (t) => {
  const fx = await hostFixtures();
  await t.step("a thread held for 2 s, then let go: PASS once it has run", async () => {
    let s: Started | null = null;
    try {
      s = await startStopfix(fx, ["--threads", "3"]);
      const st = s;
      const release = holdThread(st.tids[1]);
      assert.equal(stat(st.tids[1])?.[0], "t");
      Deno.kill(st.target, "SIGTERM");
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(readKV(`${st.dir}/result`), null, "no verdict while a thread has not moved");
      release();
      const r = await result(st);
      assert.equal(r.verdict, "PASS", JSON.stringify(r));
      assert.equal(r.progressed, "3");
      assert.equal(r.progress_wait, "done");
    } finally {
      await cleanup(s);
    }
  });
  await t.step("a thread held past the 30 s deadline: FAIL, stuck in t, no CPU used", async () => {
    let s: Started | null = null;
    try {
      s = await startStopfix(fx, ["--threads", "2"]);
      const st = s;
      const release = holdThread(st.tids[1]);
      Deno.kill(st.target, "SIGTERM");
      const r = await waitFor("DIR/result", () => readKV(`${st.dir}/result`), 40_000, 100);
      release();
      assert.equal(r.verdict, "FAIL");
      assert.equal(r.reasons, "progress");
      assert.equal(r.progressed, "1");
      assert.equal(r.progress_wait, "stuck");
      assert.equal(r.lagging, `${st.tids[1]}:t:0`);
      assert.deepEqual(await exit(st), { target: "exited:1" });
    } finally {
      await cleanup(s);
    }
  });
});

Deno.test("stopfix reports a signaled target; the launcher rejects bad usage", async () => {
  const fx = await hostFixtures();
  let s: Started | null = null;
  try {
    s = await startStopfix(fx, []);
    Deno.kill(s.target, "SIGKILL");
    assert.deepEqual(await exit(s), { target: "signaled:SIGKILL" });
  } finally {
    await cleanup(s);
  }
  const bad = await run(fx.programs.stopfix, ["--dir", "/nonexistent-dir-xyz"]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /nonexistent-dir-xyz/);
});

Deno.test("ptyjob --suspend stops the foreground job with ^Z", async () => {
  const fx = await hostFixtures();
  const dir = await Deno.makeTempDir({ prefix: "ptyjob-" });
  const pids: number[] = [];
  try {
    const cmd = `${fx.programs.stopfix} --dir ${dir} --job --threads 2 --handler reraise`;
    const r = await run(fx.programs.ptyjob, [
      ...`--dir ${dir} --suspend --`.split(" "),
      ...cmd.split(" "),
    ]);
    const shell = readKV(`${dir}/shell`) ?? {};
    const job = Number(shell.job), session = Number(shell.session);
    if (session) pids.push(ppid(session), session, job);
    assert.equal(r.code, 0, r.err);
    assert.equal(shell.status, "stopped:SIGTSTP");
    const ready = readKV(`${dir}/ready`)!;
    assert.equal(Number(ready.root), job);
    assert.equal(Number(ready.target), job);
    const [st, , pgrp, sid, ttyNr, tpgid] = stat(job)!;
    assert.equal(st, "T");
    assert.equal(Number(pgrp), job);
    assert.equal(Number(sid), session);
    assert.notEqual(ttyNr, "0", "the job has the pty as controlling terminal");
    assert.equal(Number(tpgid), session, "the shell took the terminal back");
    const s: Started = { dir, root: job, target: job, tids: ready.tids.split(",").map(Number) };
    assertProbe(await probe(fx, job), s.tids, "stopped:SIGTSTP");

    Deno.kill(job, "SIGCONT");
    await waitFor("shell sees continued", () => readKV(`${dir}/shell`)?.status === "continued");
    Deno.kill(job, "SIGTERM");
    const res = await result(s);
    assert.equal(res.verdict, "PASS", JSON.stringify(res));
    assert.equal(res.tstp_handled, "1");
    assert.equal(res.cont_handled, "1");
    await waitFor("shell sees exit", () => readKV(`${dir}/shell`)?.status === "exited:0");
  } finally {
    killTree(pids);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("ptyjob --run returns the program's status and copies its terminal output", async () => {
  const fx = await hostFixtures();
  const dir = await Deno.makeTempDir({ prefix: "ptyjob-" });
  const pids: number[] = [];
  const track = () => {
    const session = Number(readKV(`${dir}/shell`)?.session ?? 0);
    if (session) pids.push(ppid(session), session);
  };
  try {
    const script = "echo hello; tty; echo oops >&2; exit 3";
    const r = await run(fx.programs.ptyjob, ["--dir", dir, "--run", "--", "sh", "-c", script]);
    track();
    assert.equal(r.code, 3, r.err);
    const out = Deno.readTextFileSync(`${dir}/run.out`);
    assert.match(out, /^hello\n\/dev\/pts\/\d+\noops\n$/);
    assert.deepEqual(readKV(`${dir}/run.done`), { status: "exited:3", code: "3" });
    assert.equal(readKV(`${dir}/shell`)?.status, "exited:3");
    const session = Number(readKV(`${dir}/shell`)!.session);
    assert.notEqual(state(session), "gone", "the shell keeps the session alive");
    assert.notEqual(state(ppid(session)), "gone", "the master holder stays alive");

    const k = await run(fx.programs.ptyjob, [
      "--dir",
      dir,
      "--run",
      "--",
      "sh",
      "-c",
      "kill -TERM $$",
    ]);
    track();
    assert.equal(k.code, 128 + 15);
    assert.equal(readKV(`${dir}/shell`)?.status, "signaled:SIGTERM");
  } finally {
    killTree(pids);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("the aarch64 build produces aarch64 ELF binaries", async () => {
  const fx = await buildFixtures("aarch64", CACHE);
  assert.match(fx.dir, /\/fixtures\/aarch64-[0-9a-f]+$/);
  for (const p of Object.values(fx.programs)) {
    const head = await readElfHead(p);
    assert.equal(head.length, 20);
    assert.deepEqual([...head.bytes.slice(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${p} is ELF`);
    assert.equal(head.bytes[4], 2, "64-bit");
    assert.equal(head.bytes[5], 1, "little-endian");
    assert.equal(head.machine, 183, "e_machine = EM_AARCH64");
  }
});
