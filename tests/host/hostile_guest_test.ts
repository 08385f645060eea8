/**
 * A hostile guest, played by a shell script in QEMU's place (no VM): it must not keep a cell
 * running by talking, nor make the harness keep its whole console, transcript or logs.
 */
import assert from "assert";
import { join } from "node:path";
import { GuestVm, MAX_CONSOLE_CHARS, MAX_CONSOLE_FILE_BYTES } from "../../vm/guest_vm.ts";
import type { QemuProfile } from "../../vm/profiles.ts";
import {
  emptyObservations,
  MAX_CELL_CHARS,
  recordMessage,
} from "../../harness/core/observations.ts";
import { describeLimits } from "../../harness/run/run_vm.ts";
import { tempDirRemovedAtUnload } from "../test_helpers.ts";

const NONCE = "n0nce-hostile-test";

/**
 * A fake QEMU: answers HELLO like the agent, then on RUN does `onRun` (shell), with `$OUT`
 * the agent's host-bound FIFO and `$CELL` the cell. Its stdout is the console.
 */
async function fakeGuest(dir: string, onRun: string): Promise<QemuProfile> {
  const script = join(dir, "fake-qemu.sh");
  await Deno.writeTextFile(
    script,
    `#!/bin/sh
for arg; do case "$arg" in pipe,id=agent,path=*) PIPE="\${arg#pipe,id=agent,path=}";; esac; done
OUT="$PIPE.out"
exec 3<"$PIPE.in" 4>"$OUT"
while read -r cmd a b rest <&3; do
  case "$cmd" in
    HELLO) echo "${NONCE} - READY kernel=6.1 arch=x86_64 criu=3.17" >&4
           echo "${NONCE} - KV vm criu_check ok" >&4;;
    RUN) CELL="$a"; ${onRun};;
    POWEROFF) exit 0;;
  esac
done
`,
  );
  await Deno.chmod(script, 0o755);
  return {
    arch: "x86_64",
    binary: script,
    console: "ttyS0",
    kernelArgs: [],
    kvmCapable: false,
    machineArgs: () => [],
  };
}

async function boot(dir: string, profile: QemuProfile): Promise<GuestVm> {
  const vm = await GuestVm.boot({
    profile,
    accel: "tcg",
    cpu: "max",
    kernel: "/dev/null",
    initrd: "/dev/null",
    agentPipe: join(dir, "agent"),
    memoryMiB: 64,
  }, { nonce: NONCE, consoleLog: join(dir, "console.log"), bootTimeoutMs: 10_000 });
  assert.ok(vm instanceof GuestVm, `the fake guest did not boot: ${JSON.stringify(vm)}`);
  return vm;
}

Deno.test("a guest that talks every 50 ms forever is stopped by the cell's wall-clock limit", async () => {
  const dir = tempDirRemovedAtUnload("hostile-guest-");
  const vm = await boot(
    dir,
    await fakeGuest(
      dir,
      `while :; do echo "${NONCE} $CELL KV before tick 1" >&4; sleep 0.05; done`,
    ),
  );
  try {
    const started = performance.now();
    const { failure, observations } = await vm.runCell("chatty", [], 500, 1500);
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(failure, { kind: "timeout", message: "the cell ran longer than 1.5 s" });
    assert.equal(observations.phases.before.tick, "1");
    assert.ok(seconds >= 1.5 && seconds < 3, `stopped after ${seconds} s`);
  } finally {
    await vm.kill();
  }
});

Deno.test("a silent guest still times out on silence, before the cell limit", async () => {
  const dir = tempDirRemovedAtUnload("hostile-guest-");
  const vm = await boot(dir, await fakeGuest(dir, ":"));
  try {
    const { failure } = await vm.runCell("quiet", [], 300, 5000);
    assert.deepEqual(failure, { kind: "timeout", message: "the guest said nothing for 0.3 s" });
  } finally {
    await vm.kill();
  }
});

Deno.test("a console flood is kept as its tail in memory and cut in the file", async () => {
  const dir = tempDirRemovedAtUnload("hostile-guest-");
  const flood = 3 * MAX_CONSOLE_CHARS;
  const vm = await boot(
    dir,
    await fakeGuest(
      dir,
      `head -c ${flood} /dev/zero | tr '\\0' x; echo TAIL-MARK; echo "${NONCE} $CELL DONE" >&4`,
    ),
  );
  try {
    const offset = vm.consoleLength;
    const { failure } = await vm.runCell("flood", [], 10_000, 20_000);
    assert.equal(failure, null);
    // The console pump may still be behind the agent's DONE: wait for the tail.
    const until = performance.now() + 10_000;
    while (!vm.console.includes("TAIL-MARK") && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(vm.console.length <= MAX_CONSOLE_CHARS, `${vm.console.length} characters kept`);
    assert.ok(vm.consoleLength >= flood, `${vm.consoleLength} characters seen`);
    const cellConsole = vm.consoleSince(offset);
    assert.match(cellConsole, /^\[criu-matrix: console cut to its last 4194304 characters; \d+/);
    assert.match(cellConsole, /TAIL-MARK\n$/);
  } finally {
    await vm.kill();
  }
  const fileBytes = (await Deno.stat(join(dir, "console.log"))).size;
  assert.ok(fileBytes <= MAX_CONSOLE_FILE_BYTES + 200, `console file of ${fileBytes} bytes`);
});

Deno.test("the agent transcript keeps its tail and says how many lines it dropped", async () => {
  const dir = tempDirRemovedAtUnload("hostile-guest-");
  // 1,500 lines of 8 KB: 12 MB, above the 8 MiB transcript cap.
  const line = "y".repeat(8000);
  const vm = await boot(
    dir,
    await fakeGuest(
      dir,
      `i=0; while [ $i -lt 1500 ]; do echo "${NONCE} $CELL LOG dump ${line}" >&4; i=$((i+1)); done; ` +
        `echo "${NONCE} $CELL DONE" >&4`,
    ),
  );
  try {
    const offset = vm.transcriptLength;
    const { failure, observations } = await vm.runCell("talk", [], 10_000, 60_000);
    assert.equal(failure, null);
    const transcript = vm.transcriptSince(offset);
    assert.match(
      transcript[0],
      /^\[criu-matrix: transcript cut to its last 8388608 characters; \d+ earlier lines dropped\]$/,
    );
    assert.ok(transcript.join("\n").length < 8.5 * 2 ** 20);
    assert.equal(transcript.at(-1), "talk DONE");
    assert.ok(vm.transcriptDropped > offset, `${vm.transcriptDropped} lines dropped`);
    // The cell's observations are capped too: its dump log lost its beginning.
    assert.ok(observations.droppedLogLines.dump > 0);
    assert.ok(observations.keptChars <= 8 * 2 ** 20 + 8192);
  } finally {
    await vm.kill();
  }
});

Deno.test("recordMessage: a cell keeps the end of a flooded log, and its limits say so", () => {
  const seen = emptyObservations();
  const line = "z".repeat(1000);
  for (let i = 0; i < 100; i++) {
    recordMessage(seen, { type: "LOG", cell: "c", log: "dump", line: `${i} ${line}` }, 10_000);
  }
  // Past the cap, other values are dropped rather than evict the log's end.
  const big = "v".repeat(6000);
  recordMessage(seen, { type: "KV", cell: "c", phase: "after", key: "k", value: big }, 10_000);
  recordMessage(seen, { type: "ERROR", cell: "c", kind: "agent", message: big }, 10_000);
  assert.equal(seen.droppedMessages, 2);
  assert.ok(seen.keptChars <= 10_000 + 1002, `${seen.keptChars} kept`);
  assert.match(seen.logs.dump.at(-1)!, /^99 /);
  assert.equal(seen.droppedLogLines.dump + seen.logs.dump.length, 100);
  assert.deepEqual(describeLimits(seen), [
    `dump log: ${seen.droppedLogLines.dump} earlier lines dropped (a cell keeps at most ` +
    `${MAX_CELL_CHARS} characters)`,
    `${seen.droppedMessages} values or error messages dropped (a cell keeps at most ` +
    `${MAX_CELL_CHARS} characters)`,
  ]);
});
