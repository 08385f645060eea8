/**
 * The guest side of `task repro`: a shell script that replays, in a fresh guest and without the
 * harness, the commands the agent recorded for one cell (its CMD observations, in order). Pure:
 * it only turns the record into text.
 *
 * The record holds the words the agent ran, with the pids of that run; the replay's fixture gets
 * other pids, so the tree's pids become `$root` and `$target`, learned the way the agent learned
 * them (the record's `root=N target=N` line marks the spot). The agent's own functions (checks,
 * waits) come from the agent itself, sourced as a library: what they report is printed as the
 * agent's lines `none CELL KV phase key value`.
 *
 * @module
 */
import type { RecordedCommand } from "./types.ts";

/** The agent's directory for a cell's files in the guest (WORK in vm/guest/agent). */
const GUEST_WORK = "/run/criu-matrix";

/** The line of the record that gives the tree's pids (see record_tree in vm/guest/agent). */
const TREE = /^root=(\d{1,10}) target=(\d{1,10})$/;

/** A cell name as the agent uses it (its RUN cell): lower case, a path component. */
const CELL_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** What the script needs besides the commands. */
export interface ReproScriptInput {
  /** The cell's id (`criu/arch/kernel/case`), for the header. */
  id: string;
  /** The agent's name of the cell (its directory under /run/criu-matrix). */
  cell: string;
  /** One line about the cell's outcome, for the header. */
  outcome: string;
  commands: readonly RecordedCommand[];
  /** Whether the cell ran a zdtm test (its pids come from its pid file). */
  zdtm: boolean;
}

/**
 * `word` as one single-quoted shell word.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./repro_script.ts";
 * shellQuote("it's"); // "'it'\\''s'"
 * ```
 */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** One line of a comment: no line breaks or control characters from the record. */
function comment(text: string): string {
  // deno-lint-ignore no-control-regex -- these are what a comment line must not hold
  return `# ${text.replace(/[\x00-\x1f\x7f]/g, " ")}`;
}

/** The pid words of a command as `$root`/`$target` (also inside /proc/PID paths). */
function withTreeVariables(command: string, tree: { root: string; target: string } | null) {
  if (tree === null) return command;
  return command.replace(
    /(?<=^|[ /])(\d{1,10})(?=$|[ /])/g,
    (pid) => pid === tree.root ? "${root}" : pid === tree.target ? "${target}" : pid,
  );
}

/** Where a CRIU command wrote its log (`-D DIR -o NAME`), or null. */
function criuLogOf(command: string): string | null {
  const dir = / -D ([A-Za-z0-9_./-]+)/.exec(command)?.[1];
  const log = / -o ([A-Za-z0-9_.-]+)/.exec(command)?.[1];
  return dir && log ? `${dir}/${log}` : null;
}

/**
 * The replay script: a header, the agent's functions, then each recorded command as the agent
 * ran it (output to its file, printed after it; with its time limit), each announced and
 * followed by its exit status.
 *
 * @example
 * ```ts
 * import { reproScript } from "./repro_script.ts";
 * const script = reproScript({
 *   id: "4.1.1/x86_64/trixie/sigttin", cell: "sigttin", outcome: "fail at dump", zdtm: false,
 *   commands: [
 *     { out: "/run/criu-matrix/sigttin/launch.out", limit: null,
 *       command: "/opt/criu-matrix/stopfix --dir /run/criu-matrix/sigttin" },
 *     { out: null, limit: null, command: "root=7 target=8" },
 *     { out: null, limit: null, command: "kill -TTIN 8" },
 *   ],
 * });
 * script.includes('kill -TTIN ${target}'); // true
 * ```
 */
export function reproScript(input: ReproScriptInput): string {
  if (!CELL_NAME.test(input.cell)) throw new Error(`not a cell name: ${input.cell}`);
  const dir = `${GUEST_WORK}/${input.cell}`;
  const lines = [
    "#!/bin/busybox sh",
    comment(`Replays cell ${input.id} of a criu-matrix run (${input.outcome}).`),
    comment("Written by `task repro` from the commands the agent recorded for the cell, in order;"),
    comment("the agent's functions (checks, waits) come from /opt/criu-matrix/agent."),
    `AGENT_LIBRARY=yes . /opt/criu-matrix/agent /dev/console`,
    `CELL=${input.cell}`,
    `DIR=${dir}`,
    `rm -rf "$DIR"`,
    `mkdir -p "$DIR/images"`,
    `cd "$DIR" || exit 1`,
    `step() { echo "criu-matrix-repro: $*"; }`,
    "",
  ];
  let tree: { root: string; target: string } | null = null;
  for (const { out, limit, command } of input.commands) {
    const pids = TREE.exec(command);
    if (pids) {
      tree = { root: pids[1], target: pids[2] };
      lines.push(
        comment(
          `The tree (pids ${tree.root} and ${tree.target} in the run), as the agent finds it:`,
        ),
        ...(input.zdtm
          ? [
            `read -r root <"$DIR/$zdtm.pid"`,
            `target=$root`,
            `for stat in /proc/[0-9]*/stat; do`,
            `  read -r fields <"$stat" 2>/dev/null || continue`,
            `  set -- \${fields##*) }`,
            `  [ "$2" = "$root" ] && { target=\${stat#/proc/}; target=\${target%/stat}; break; }`,
            `done`,
          ]
          : [`read_key_into root "$DIR/ready" root`, `read_key_into target "$DIR/ready" target`]),
        `step "tree: root=$root target=$target"`,
        "",
      );
      continue;
    }
    const replayed = withTreeVariables(command, tree);
    lines.push(`step ${shellQuote(`$ ${replayed}`)}`);
    if (out === null) {
      lines.push(replayed, `step "exit $?"`, "");
      continue;
    }
    const timeout = limit === null ? "" : `timeout -s KILL ${limit} `;
    const outFile = shellQuote(out);
    lines.push(
      `${timeout}${replayed} 3>&- </dev/null >${outFile} 2>&1`,
      `step "exit $?"`,
      `cat ${outFile}`,
    );
    const log = criuLogOf(command);
    if (log) lines.push(`grep -F 'Error (' ${shellQuote(log)}`);
    lines.push("");
  }
  lines.push(`step "done: every recorded command ran"`);
  return `${lines.join("\n")}\n`;
}
