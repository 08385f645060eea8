/**
 * Hang diagnoses: what the agent saw in the guest when a limit ran out (phases `hang.NAME` of a
 * cell's observations, see `diagnose` in vm/guest/agent), folded into bounded
 * {@link HangDiagnosis} records with the end of the last CRIU log, and written out as text for
 * the cell's `hang.log`. The guest is untrusted: counts and lengths are capped here again.
 *
 * @module
 */
import { childField, readArray, readNullable, readRecord, readString } from "./json_shape.ts";
import type { CellObservations } from "./observations.ts";
import type { HangDiagnosis, HangTask } from "./types.ts";

/** Caps on what one cell keeps of its hang diagnoses. */
export const HANG_LIMITS = {
  diagnoses: 8,
  tasks: 64,
  frames: 32,
  /** Characters of any one value (a command name, a frame, the reason). */
  chars: 512,
  /** Lines of the CRIU log kept with a diagnosis. */
  logLines: 20,
};

const PHASE = "hang.";

function cut(text: string): string {
  return text.length > HANG_LIMITS.chars ? `${text.slice(0, HANG_LIMITS.chars)} [cut]` : text;
}

/**
 * The hang diagnoses of a cell, in the order the agent made them; empty when no limit ran out.
 *
 * @example
 * ```ts
 * import { emptyObservations, recordMessage } from "./observations.ts";
 * import { hangDiagnoses } from "./hang.ts";
 * const seen = emptyObservations();
 * const kv = (key: string, value: string) =>
 *   recordMessage(seen, { type: "KV", cell: "c", phase: "hang.criu", key, value });
 * kv("reason", "criu dump -t 7: still running after 15 s, killed");
 * kv("task.9.pid", "9");
 * kv("task.9.comm", "criu");
 * kv("task.9.state", "S");
 * kv("task.9.wchan", "do_wait");
 * kv("task.9.stack", "do_wait+0x5c/0x100 | kernel_wait4+0xa4/0x150");
 * hangDiagnoses(seen)[0].tasks[0].stack; // ["do_wait+0x5c/0x100", "kernel_wait4+0xa4/0x150"]
 * ```
 */
export function hangDiagnoses(observations: CellObservations): HangDiagnosis[] {
  const names = Object.keys(observations.phases).filter((phase) => phase.startsWith(PHASE));
  const criuLog = lastCriuLog(observations);
  return names.slice(0, HANG_LIMITS.diagnoses).map((phase) => {
    const values = observations.phases[phase];
    const tids = Object.keys(values).flatMap((key) => {
      const match = /^task\.(\d{1,10})\.pid$/.exec(key);
      return match ? [match[1]] : [];
    });
    const tasks: HangTask[] = tids.slice(0, HANG_LIMITS.tasks).map((tid) => {
      const field = (name: string) => cut(values[`task.${tid}.${name}`] ?? "");
      const stack = (values[`task.${tid}.stack`] ?? "").split(" | ").filter((frame) => frame);
      return {
        pid: field("pid"),
        tid,
        comm: field("comm"),
        state: field("state"),
        wchan: field("wchan"),
        stack: stack.slice(0, HANG_LIMITS.frames).map(cut),
      };
    });
    const cuts = [
      ...(values.cut ? [cut(values.cut)] : []),
      ...(tids.length > HANG_LIMITS.tasks ? [`${tids.length - HANG_LIMITS.tasks} threads`] : []),
    ];
    return {
      name: cut(phase.slice(PHASE.length)),
      reason: cut(values.reason ?? ""),
      tasks,
      criuLog,
      cut: cuts.length > 0 ? cuts.join("; ") : null,
    };
  });
}

/** The end of the log of the CRIU command that reported last (not its `-output`). */
function lastCriuLog(observations: CellObservations): HangDiagnosis["criuLog"] {
  const log = Object.keys(observations.logs).filter((name) => !name.endsWith("-output")).at(-1);
  if (log === undefined) return null;
  return { log, tail: observations.logs[log].slice(-HANG_LIMITS.logLines).map(cut) };
}

/** What a state letter of /proc means, for a reader. */
const STATES: Record<string, string> = {
  R: "running",
  S: "sleeping",
  D: "disk sleep",
  T: "stopped",
  t: "tracing stop",
  Z: "zombie",
  X: "dead",
  I: "idle",
};

/**
 * One line per thread, e.g. `criu 231/231 S (sleeping) in do_wait`: the brief form the reports
 * show.
 *
 * @example
 * ```ts
 * import { describeHangTask } from "./hang.ts";
 * describeHangTask({ pid: "9", tid: "9", comm: "criu", state: "S", wchan: "do_wait", stack: [] });
 * // "criu 9/9 S (sleeping) in do_wait"
 * ```
 */
export function describeHangTask(task: HangTask): string {
  const state = STATES[task.state] ? `${task.state} (${STATES[task.state]})` : task.state;
  const wchan = task.wchan && task.wchan !== "0" ? ` in ${task.wchan}` : "";
  return `${task.comm} ${task.pid}/${task.tid} ${state}${wchan}`;
}

/**
 * The diagnoses in full as text, for the cell's `hang.log` (control characters are the
 * reports' business: the agent's protocol already refuses them in a line).
 *
 * @example
 * ```ts
 * import { hangLogText } from "./hang.ts";
 * hangLogText([{ name: "stop", reason: "task 7 did not stop", tasks: [], criuLog: null, cut: null }]);
 * // "== stop: task 7 did not stop\n"
 * ```
 */
export function hangLogText(diagnoses: readonly HangDiagnosis[]): string {
  return diagnoses.map((diagnosis) =>
    [
      `== ${diagnosis.name}: ${diagnosis.reason}`,
      ...diagnosis.tasks.flatMap((task) => [
        describeHangTask(task),
        ...(task.stack.length > 0 ? task.stack : ["(no kernel stack)"]).map((f) => `    ${f}`),
      ]),
      ...(diagnosis.cut ? [`(left out: ${diagnosis.cut})`] : []),
      ...(diagnosis.criuLog
        ? [`-- last lines of CRIU's ${diagnosis.criuLog.log} log:`, ...diagnosis.criuLog.tail]
        : []),
    ].join("\n") + "\n"
  ).join("\n");
}

/**
 * Reads the `hangs` of a cell in a results file (untrusted: shapes checked, caps applied).
 *
 * @example
 * ```ts
 * import { readHangDiagnoses } from "./hang.ts";
 * const hang = { name: "criu", reason: "r", tasks: [], criuLog: null, cut: null };
 * readHangDiagnoses([hang], "cells[0].hangs")[0].name; // "criu"
 * ```
 */
export function readHangDiagnoses(value: unknown, field: string): HangDiagnosis[] {
  const diagnoses = readArray(value, field, (item, itemField) => {
    const record = readRecord(item, itemField);
    const at = (key: string) => childField(itemField, key);
    const text = (entry: unknown, entryField: string) => cut(readString(entry, entryField));
    return {
      name: text(record.name, at("name")),
      reason: text(record.reason, at("reason")),
      tasks: readArray(record.tasks, at("tasks"), (task, taskField) => {
        const fields = readRecord(task, taskField);
        const of = (key: string) => text(fields[key], childField(taskField, key));
        return {
          pid: of("pid"),
          tid: of("tid"),
          comm: of("comm"),
          state: of("state"),
          wchan: of("wchan"),
          stack: readArray(fields.stack, childField(taskField, "stack"), text)
            .slice(0, HANG_LIMITS.frames),
        };
      }).slice(0, HANG_LIMITS.tasks),
      criuLog: readNullable(record.criuLog, at("criuLog"), (log, logField) => {
        const fields = readRecord(log, logField);
        return {
          log: text(fields.log, childField(logField, "log")),
          tail: readArray(fields.tail, childField(logField, "tail"), text)
            .slice(-HANG_LIMITS.logLines),
        };
      }),
      cut: readNullable(record.cut, at("cut"), text),
    };
  });
  return diagnoses.slice(0, HANG_LIMITS.diagnoses);
}
