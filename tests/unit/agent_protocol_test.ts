import assert from "assert";
import {
  type AgentMessage,
  emptyObservations,
  recordMessage,
} from "../../harness/core/observations.ts";
import { MAX_LINE_LENGTH, parseAgentLine } from "../../vm/agent_protocol.ts";
import { lines, NONCE, observe, SIGSTOP_317 } from "./transcript_fixture.ts";

/** The nonce of another run, e.g. a transcript replayed from an earlier boot. */
const OTHER_NONCE = "7d793037a0760186574b0282f2f435e7";

/**
 * A real transcript (criu 3.17.1, x86_64, kernel bookworm, case sigstop), as run_vm.ts stores it:
 * the wire lines without their nonce prefix. The LOG lines are a selection; everything else is
 * complete and in order.
 */
const SIGSTOP_TRANSCRIPT = lines(SIGSTOP_317);

/** What the agent sends outside a cell (cell `-`) and when a cell goes wrong, per vm/guest/agent. */
const OTHER_LINES = [
  "- READY kernel=6.1.0-50-cloud-amd64 arch=x86_64 criu=3.17.1",
  "- KV vm criu_check 0",
  "sigtstp STEP dump 1 0.21 no",
  "sigtstp LOG dump (00.065103) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20",
  "sigstop ERROR fixture task 133 did not stop on SIGSTOP within 5 s (via kill)",
  "sigstop ERROR agent unknown RUN parameter: inject=hang",
  "- ERROR agent unknown command: FROB",
  "hang STEP dump 137 60.02 yes",
  "- BYE",
];

const REAL_LINES = [...SIGSTOP_TRANSCRIPT, ...OTHER_LINES];

const wire = (line: string, nonce = NONCE) => `${nonce} ${line}`;
const parse = (line: string) => parseAgentLine(wire(line), NONCE);

/** mulberry32: a tiny seeded PRNG, so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// deno-lint-ignore no-control-regex -- what the parser must never let through
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

Deno.test("parseAgentLine: every message type from realistic lines", async (t) => {
  await t.step("READY: the facts of the guest", () => {
    assert.deepEqual(parse("- READY kernel=6.1.0-50-cloud-amd64 arch=x86_64 criu=3.17.1"), {
      type: "READY",
      cell: "-",
      facts: { kernel: "6.1.0-50-cloud-amd64", arch: "x86_64", criu: "3.17.1" },
    });
    // criu --version printed nothing: the fact is there, empty.
    assert.deepEqual(parse("- READY kernel=6.12.48+deb13-cloud-arm64 arch=aarch64 criu="), {
      type: "READY",
      cell: "-",
      facts: { kernel: "6.12.48+deb13-cloud-arm64", arch: "aarch64", criu: "" },
    });
  });

  await t.step("KV: phase, key and the rest of the line as the value", () => {
    assert.deepEqual(parse("sigstop KV before thread.target.0.State T"), {
      type: "KV",
      cell: "sigstop",
      phase: "before",
      key: "thread.target.0.State",
      value: "T",
    });
    assert.deepEqual(parse("- KV vm criu_check 0"), {
      type: "KV",
      cell: "-",
      phase: "vm",
      key: "criu_check",
      value: "0",
    });
    // An empty /proc field: the agent still sends the trailing space.
    assert.deepEqual(parse("sigstop KV before thread.target.0.SigPnd "), {
      type: "KV",
      cell: "sigstop",
      phase: "before",
      key: "thread.target.0.SigPnd",
      value: "",
    });
    // Values may hold spaces (the fixture's reasons).
    assert.equal(
      (parse("mt-sigtstp KV finish result.reasons memory changed; 3 of 4 threads") as {
        value: string;
      }).value,
      "memory changed; 3 of 4 threads",
    );
  });

  await t.step("STEP: exit code, seconds and whether it hung", () => {
    assert.deepEqual(parse("sigstop STEP dump 0 0.77 no"), {
      type: "STEP",
      cell: "sigstop",
      step: "dump",
      exitCode: 0,
      seconds: 0.77,
      timedOut: false,
    });
    assert.deepEqual(parse("hang STEP dump 137 60.02 yes"), {
      type: "STEP",
      cell: "hang",
      step: "dump",
      exitCode: 137,
      seconds: 60.02,
      timedOut: true,
    });
    assert.deepEqual(parse("sigstop STEP restore 0 1 no"), {
      type: "STEP",
      cell: "sigstop",
      step: "restore",
      exitCode: 0,
      seconds: 1,
      timedOut: false,
    });
  });

  await t.step("LOG: which log, and the line verbatim (tabs, trailing spaces, empty)", () => {
    assert.deepEqual(
      parse(
        "sigtstp LOG dump (00.065103) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20",
      ),
      {
        type: "LOG",
        cell: "sigtstp",
        log: "dump",
        line:
          "(00.065103) Error (compel/src/lib/infect.c:312): SEIZE 284: unsupported stop signal 20",
      },
    );
    assert.deepEqual(parse('sigstop LOG dump (00.028072) cg-prop: \tStrategy "replace"'), {
      type: "LOG",
      cell: "sigstop",
      log: "dump",
      line: '(00.028072) cg-prop: \tStrategy "replace"',
    });
    assert.equal(
      (parse("sigstop LOG dump (00.261696) Obtaining task stat ... ") as { line: string }).line,
      "(00.261696) Obtaining task stat ... ",
    );
    // An empty line of CRIU's log: procview still prefixes it, with the separating space.
    assert.deepEqual(parse("sigstop LOG dump "), {
      type: "LOG",
      cell: "sigstop",
      log: "dump",
      line: "",
    });
    assert.deepEqual(parse("sigstop LOG restore"), {
      type: "LOG",
      cell: "sigstop",
      log: "restore",
      line: "",
    });
  });

  await t.step("ERROR: kind and message", () => {
    assert.deepEqual(
      parse("sigstop ERROR fixture task 133 did not stop on SIGSTOP within 5 s (via kill)"),
      {
        type: "ERROR",
        cell: "sigstop",
        kind: "fixture",
        message: "task 133 did not stop on SIGSTOP within 5 s (via kill)",
      },
    );
    assert.deepEqual(parse("- ERROR agent unknown command: FROB"), {
      type: "ERROR",
      cell: "-",
      kind: "agent",
      message: "unknown command: FROB",
    });
    assert.deepEqual(parse("sigstop ERROR agent"), {
      type: "ERROR",
      cell: "sigstop",
      kind: "agent",
      message: "",
    });
  });

  await t.step("DONE and BYE", () => {
    assert.deepEqual(parse("sigstop DONE"), { type: "DONE", cell: "sigstop" });
    assert.deepEqual(parse("- BYE"), { type: "BYE", cell: "-" });
  });

  await t.step("every line of a real transcript is accepted", () => {
    for (const line of REAL_LINES) {
      assert.notEqual(parse(line), null, line);
    }
  });
});

Deno.test("parseAgentLine: rejects what is not this run's well-formed line", async (t) => {
  await t.step("a wrong, missing, partial or displaced nonce", () => {
    for (
      const line of [
        "sigstop DONE",
        wire("sigstop DONE", OTHER_NONCE),
        wire("sigstop DONE", NONCE.slice(0, -1)),
        wire("sigstop DONE", `${NONCE}0`),
        wire("sigstop DONE", NONCE.toUpperCase()),
        ` ${wire("sigstop DONE")}`,
        `${NONCE}sigstop DONE`,
        `${NONCE}\tsigstop DONE`,
        `${NONCE}  sigstop DONE`,
        `${OTHER_NONCE} ${NONCE} sigstop DONE`,
        NONCE,
        `${NONCE} `,
        "",
      ]
    ) {
      assert.equal(parseAgentLine(line, NONCE), null, JSON.stringify(line));
    }
  });

  await t.step("a nonce shorter than 8 characters is never trusted", () => {
    for (const nonce of ["", "a", "1234567"]) {
      assert.equal(parseAgentLine(wire("sigstop DONE", nonce), nonce), null, nonce);
    }
    assert.deepEqual(parseAgentLine(wire("sigstop DONE", "12345678"), "12345678"), {
      type: "DONE",
      cell: "sigstop",
    });
  });

  await t.step("bad cell names", () => {
    for (
      const cell of [
        "../../x",
        "..",
        ".hidden",
        "_x",
        "x/y",
        "Sigstop",
        "sig stop",
        "sigstop\u00e9",
        "--",
        "",
        "a".repeat(129),
        "sigstop\x00",
      ]
    ) {
      assert.equal(parse(`${cell} DONE`), null, JSON.stringify(cell));
      assert.equal(parse(`${cell} KV before task.root.present yes`), null, JSON.stringify(cell));
    }
    assert.deepEqual(parse(`${"a".repeat(128)} DONE`), { type: "DONE", cell: "a".repeat(128) });
  });

  await t.step("control characters anywhere in the payload", () => {
    const controls = [
      ...Array.from({ length: 9 }, (_, i) => String.fromCharCode(i)),
      ...Array.from({ length: 0x20 - 0x0b }, (_, i) => String.fromCharCode(0x0b + i)),
      "\x7f",
    ];
    assert.equal(controls.length, 31);
    for (const c of controls) {
      const name = `U+${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
      assert.equal(parse(`sigstop LOG dump (00.1) evil${c}line`), null, name);
      assert.equal(parse(`sigstop KV before task.root.ppid 1${c}`), null, name);
      assert.equal(parse(`sigstop ERROR fixture ${c}`), null, name);
      assert.equal(parse(`sigstop DONE${c}`), null, name);
      assert.equal(parse(`sigstop STEP dump 0 0.5 no${c}`), null, name);
    }
    // \r would let a line overwrite what a terminal shows of the previous one.
    assert.equal(parse("sigstop LOG dump ok\r" + wire("sigstop DONE")), null);
    // A tab is how CRIU indents its logs: allowed.
    assert.notEqual(parse("sigstop LOG dump \tUnseizing 132 into 2"), null);
  });

  await t.step("over-long lines", () => {
    const head = wire("sigstop LOG dump ");
    const fits = head + "x".repeat(MAX_LINE_LENGTH - head.length);
    assert.equal(fits.length, MAX_LINE_LENGTH);
    assert.notEqual(parseAgentLine(fits, NONCE), null);
    assert.equal(parseAgentLine(`${fits}x`, NONCE), null);
    assert.equal(parseAgentLine(wire("sigstop DONE") + " ".repeat(MAX_LINE_LENGTH), NONCE), null);
  });

  await t.step("malformed STEP fields", () => {
    for (
      const payload of [
        "",
        "dump",
        "dump 0",
        "dump 0 0.5",
        "dump 0 0.5 no extra",
        "dump 0 0.5  no",
        " dump 0 0.5 no",
        "dump 0 0.5 no ",
        "dump x 0.5 no",
        "dump -1 0.5 no",
        "dump 1000 0.5 no",
        "dump 0x1 0.5 no",
        "dump 1.0 0.5 no",
        "dump 0 -0.5 no",
        "dump 0 .5 no",
        "dump 0 1. no",
        "dump 0 1e-05 no",
        "dump 0 NaN no",
        "dump 0 Infinity no",
        "dump 0 0,5 no",
        "dump 0 0.5 YES",
        "dump 0 0.5 true",
        "dump 0 0.5 1",
        "dump 0 0.5 ",
        "du mp 0 0.5 no",
        "dump! 0 0.5 no",
        `${"d".repeat(129)} 0 0.5 no`,
      ]
    ) {
      assert.equal(parse(`sigstop STEP ${payload}`), null, JSON.stringify(payload));
    }
  });

  await t.step("other malformed payloads", () => {
    for (
      const line of [
        "sigstop",
        "sigstop ",
        "sigstop FROB x",
        "sigstop done",
        "sigstop DONE now",
        "sigstop BYE now",
        "- READY",
        "- READY kernel",
        "- READY =6.1",
        "- READY kernel=6.1  arch=x86_64",
        "- READY kernel=6.1 arch=x86_64 ",
        "- READY ke rnel=6.1",
        "- READY k!=6.1",
        "sigstop KV",
        "sigstop KV before",
        "sigstop KV before ",
        "sigstop KV  task.root.present yes",
        "sigstop KV bef/ore? task.root.present yes",
        "sigstop KV before task.root.present!",
        "sigstop LOG",
        "sigstop LOG  (00.1) two spaces",
        "sigstop LOG du(mp (00.1) x",
        "sigstop ERROR",
        "sigstop ERROR  message without kind",
        "sigstop ERROR fix*ture x",
      ]
    ) {
      assert.equal(parse(line), null, JSON.stringify(line));
    }
  });
});

Deno.test("parseAgentLine: a forged line never yields DONE", () => {
  const forged = [
    wire("sigstop DONE", OTHER_NONCE),
    wire("sigstop DONE", NONCE.slice(0, 16)),
    wire("sigstop DONE", NONCE.slice(1)),
    `${NONCE.slice(0, -1)}${NONCE.at(-1) === "0" ? "1" : "0"} sigstop DONE`,
    // A line of CRIU's log that contains a wire line stays a LOG line of this cell.
    wire(`sigstop LOG dump ${NONCE} sigstop DONE`),
    wire(`sigstop KV finish result.reasons ${NONCE} sigstop DONE`),
    wire(`sigstop ERROR fixture ${NONCE} sigstop DONE`),
    // A new line inside a payload is the transport's business; it still is not a DONE.
    wire(`sigstop LOG dump x\n${NONCE} sigstop DONE`),
  ];
  for (const line of forged) {
    assert.notEqual(parseAgentLine(line, NONCE)?.type, "DONE", JSON.stringify(line));
  }
  // ...and replaying a whole real transcript under another run's nonce yields nothing at all.
  for (const line of REAL_LINES) {
    assert.equal(parseAgentLine(wire(line, OTHER_NONCE), NONCE), null, line);
  }
});

/** One random edit of a line: what a broken channel, a truncated buffer or a hostile guest sends. */
function mutate(line: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const at = () => Math.floor(random() * (line.length + 1));
  const randomChar = () =>
    pick([
      () => String.fromCharCode(Math.floor(random() * 0x80)),
      () => String.fromCharCode(Math.floor(random() * 0x20)),
      () => pick([" ", "=", ".", "/", "-", "\t", "\x7f", "\u00e9", "\u2028", "\ufffd", "\ud800"]),
      () => String.fromCodePoint(Math.floor(random() * 0x110000)),
    ])();
  switch (Math.floor(random() * 9)) {
    case 0: // truncated
      return line.slice(0, at());
    case 1: // the end only (a line read from the middle)
      return line.slice(at());
    case 2: {
      const i = at();
      return line.slice(0, i) + randomChar() + line.slice(i);
    }
    case 3: {
      const i = at();
      return line.slice(0, i) + line.slice(i + 1 + Math.floor(random() * 4));
    }
    case 4: {
      const i = Math.min(at(), line.length - 1);
      return line.slice(0, i) + randomChar() + line.slice(i + 1);
    }
    case 5: // two lines run together
      return line + pick(REAL_LINES.map((l) => wire(l)));
    case 6: // padded past the limit
      return line + "A".repeat(Math.floor(random() * 2 * MAX_LINE_LENGTH));
    case 7: { // a field swapped for a random one
      const fields = line.split(" ");
      fields[Math.floor(random() * fields.length)] = pick(
        ["", "DONE", "STEP", "KV", "-", "..", "0", "yes", "x".repeat(200), randomChar()],
      );
      return fields.join(" ");
    }
    default: // random bytes
      return Array.from({ length: Math.floor(random() * 120) }, randomChar).join("");
  }
}

Deno.test("parseAgentLine: fuzzing real lines never throws, never trusts a broken prefix", () => {
  const random = prng(0x5eed);
  const prefix = `${NONCE} `;
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = random() < 0.8 ? wire(REAL_LINES[Math.floor(random() * REAL_LINES.length)]) : "";
    let line = mutate(base, random);
    if (random() < 0.3) line = mutate(line, random);
    const nonceTouched = random() < 0.1;
    if (nonceTouched) {
      // Break one character of the prefix: nothing may get through.
      const j = Math.floor(random() * prefix.length);
      const c = line[j] === "x" ? "y" : "x";
      line = line.slice(0, j) + c + line.slice(j + 1);
    }
    let message: AgentMessage | null = null;
    try {
      message = parseAgentLine(line, NONCE);
    } catch (error) {
      assert.fail(`threw on ${JSON.stringify(line)} (iteration ${i}): ${error}`);
    }
    if (message === null) {
      rejected++;
      continue;
    }
    accepted++;
    const context = `${JSON.stringify(line)} (iteration ${i})`;
    assert.ok(line.startsWith(prefix), `accepted without the nonce prefix: ${context}`);
    assert.ok(!nonceTouched, `accepted with a broken nonce: ${context}`);
    assert.ok(line.length <= MAX_LINE_LENGTH, `accepted an over-long line: ${context}`);
    assert.ok(!CONTROL.test(line.slice(prefix.length)), `accepted a control character: ${context}`);
    const [cell, type] = line.slice(prefix.length).split(" ");
    assert.equal(message.cell, cell, context);
    assert.equal(message.type, type, context);
    if (message.type === "DONE") {
      assert.match(line, new RegExp(`^${NONCE} [a-z0-9-][a-z0-9._-]* DONE ?$`), context);
    }
    if (message.type === "STEP") {
      assert.ok(Number.isInteger(message.exitCode) && message.exitCode >= 0, context);
      assert.ok(Number.isFinite(message.seconds) && message.seconds >= 0, context);
    }
    // Whatever is accepted can be recorded.
    recordMessage(emptyObservations(), message);
  }
  // The fuzz must exercise both sides, or it proves nothing.
  assert.ok(accepted > 2_000, `only ${accepted} accepted`);
  assert.ok(rejected > 2_000, `only ${rejected} rejected`);
});

Deno.test("parseAgentLine: mutated lines of another run never parse", () => {
  const random = prng(42);
  let checked = 0;
  for (let i = 0; i < 5_000; i++) {
    const line = mutate(wire(REAL_LINES[i % REAL_LINES.length], OTHER_NONCE), random);
    // (A mutation that happens to rebuild this run's prefix is not a forgery of another run.)
    if (line.startsWith(`${NONCE} `)) continue;
    assert.equal(parseAgentLine(line, NONCE), null, JSON.stringify(line));
    checked++;
  }
  assert.ok(checked > 4_000);
});

Deno.test("recordMessage: groups a real transcript for the checks", async (t) => {
  const seen = observe(SIGSTOP_TRANSCRIPT);

  await t.step("KV by phase, then key", () => {
    assert.deepEqual(Object.keys(seen.phases).sort(), [
      "after",
      "before",
      "finish",
      "restop",
      "resume",
      "setup",
    ]);
    assert.deepEqual({ ...seen.phases.setup }, { root: "132", target: "133" });
    assert.equal(seen.phases.before["thread.target.0.State"], "T");
    assert.equal(seen.phases.before["parent.wait"], "stopped:SIGSTOP");
    assert.equal(seen.phases.before["probe.133"], "stopped:SIGSTOP");
    assert.equal(seen.phases.after["parent.chld_stopped"], "2");
    assert.equal(seen.phases.resume["thread.target.0.State"], "S");
    assert.equal(seen.phases.finish["result.verdict"], "PASS");
    assert.equal(seen.phases.finish["exit.target"], "exited:0");
    assert.equal(Object.keys(seen.phases.before).length, 29);
  });

  await t.step("STEP by step name", () => {
    assert.deepEqual({ ...seen.steps }, {
      dump: { exitCode: 0, seconds: 0.77, timedOut: false },
      restore: { exitCode: 0, seconds: 0.34, timedOut: false },
    });
  });

  await t.step("LOG lines per log, in order, verbatim", () => {
    assert.deepEqual(Object.keys(seen.logs).sort(), ["dump", "restore"]);
    assert.equal(seen.logs.dump[0], "(00.000911) Version: 3.17.1 (gitid 0)");
    assert.equal(seen.logs.dump.at(-1), "(00.578771) Dumping finished successfully");
    assert.ok(seen.logs.dump.includes("(00.570141) \tUnseizing 132 into 2"));
    assert.equal(seen.logs.restore.at(-1), "(00.212548) Running post-resume scripts");
    const logLines = SIGSTOP_TRANSCRIPT.filter((l) => l.startsWith("sigstop LOG ")).length;
    assert.equal(seen.logs.dump.length + seen.logs.restore.length, logLines);
  });

  await t.step("DONE marks the cell complete; no errors", () => {
    assert.equal(seen.done, true);
    assert.deepEqual(seen.errors, []);
  });

  await t.step("a cell cut off before DONE is not done", () => {
    assert.equal(observe(SIGSTOP_TRANSCRIPT.slice(0, -1)).done, false);
  });

  await t.step("errors are kept in order; a later KV of the same key wins", () => {
    const cell = observe([
      "sigstop KV setup root 132",
      "sigstop ERROR fixture task 133 did not stop on SIGSTOP within 5 s (via kill)",
      "sigstop ERROR agent second",
      "sigstop KV setup root 140",
      "sigstop DONE",
    ]);
    assert.deepEqual(cell.errors, [
      { kind: "fixture", message: "task 133 did not stop on SIGSTOP within 5 s (via kill)" },
      { kind: "agent", message: "second" },
    ]);
    assert.equal(cell.phases.setup.root, "140");
  });

  await t.step("READY and BYE change nothing", () => {
    const cell = emptyObservations();
    recordMessage(cell, parse("- READY kernel=6.1.0-50-cloud-amd64 arch=x86_64 criu=3.17.1")!);
    recordMessage(cell, parse("- BYE")!);
    assert.deepEqual(cell, emptyObservations());
  });
});

Deno.test({
  // The guest chooses phase and log names: a well-formed line naming an Object.prototype member
  // (`KV constructor keys x`, `LOG constructor x`) must stay a plain key.
  name: "recordMessage: guest-chosen names cannot reach the host's prototypes",
  fn() {
    const keys = Object.keys;
    try {
      for (
        const line of [
          "evil KV constructor keys x",
          "evil KV __proto__ result.verdict PASS",
          "evil KV toString x y",
          "evil LOG constructor x",
          "evil LOG hasOwnProperty x",
          "evil STEP constructor 0 1 no",
        ]
      ) {
        const message = parse(line);
        assert.notEqual(message, null, line);
        recordMessage(emptyObservations(), message!);
      }
      assert.equal(Object.keys, keys);
      assert.equal(({} as Record<string, unknown>)["result.verdict"], undefined);
    } finally {
      Object.keys = keys;
    }
  },
});
