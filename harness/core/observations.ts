/**
 * What the guest agent reported about each cell, as the checks read it: the accepted messages
 * of its line protocol (parsed and vetted in vm/agent_protocol.ts) folded into one record per
 * cell. Pure: nothing here ever yields a verdict.
 *
 * @module
 */
import type { RecordedCommand } from "./types.ts";

/** One accepted message from the agent. */
export type AgentMessage =
  | { type: "READY"; cell: string; facts: Record<string, string> }
  | { type: "KV"; cell: string; phase: string; key: string; value: string }
  | {
    type: "STEP";
    cell: string;
    step: string;
    exitCode: number;
    seconds: number;
    timedOut: boolean;
  }
  | { type: "LOG"; cell: string; log: string; line: string }
  | { type: "ERROR"; cell: string; kind: string; message: string }
  | ({ type: "CMD"; cell: string } & RecordedCommand)
  | { type: "DONE"; cell: string }
  | { type: "BYE"; cell: string };

/** Most commands one cell keeps: a cell runs about ten; the first ones are kept. */
export const MAX_CELL_COMMANDS = 200;

/** Everything the agent reported about one cell, grouped for the checks. */
export interface CellObservations {
  /** phase → key → value, e.g. `before` → `thread.target.0.State` → `T`. */
  phases: Record<string, Record<string, string>>;
  steps: Record<string, { exitCode: number; seconds: number; timedOut: boolean }>;
  logs: Record<string, string[]>;
  errors: { kind: string; message: string }[];
  /** The commands it ran, in order (at most {@link MAX_CELL_COMMANDS}). */
  commands: RecordedCommand[];
  done: boolean;
  /** Characters of every value, log line and error message kept, against {@link MAX_CELL_CHARS}. */
  keptChars: number;
  /** Per log: earlier lines dropped to stay under the cap (the tail is kept). */
  droppedLogLines: Record<string, number>;
  /** Values and error messages dropped once the cap was reached. */
  droppedMessages: number;
}

/**
 * Most characters of observations one cell keeps (values, log lines, errors): 8 MiB. A guest
 * that floods its logs loses their beginning, not the host its memory; CRIU's real logs of a
 * cell stay far below (tens of KiB).
 */
export const MAX_CELL_CHARS = 8 << 20;

/**
 * An empty set of observations, to fill with {@link recordMessage}.
 *
 * @example
 * ```ts
 * import { emptyObservations } from "./observations.ts";
 * console.log(emptyObservations().done); // false
 * ```
 */
export function emptyObservations(): CellObservations {
  // Names come from the guest: null-prototype records keep "constructor" or "__proto__" plain keys.
  return {
    phases: Object.create(null),
    steps: Object.create(null),
    logs: Object.create(null),
    errors: [],
    commands: [],
    done: false,
    keptChars: 0,
    droppedLogLines: Object.create(null),
    droppedMessages: 0,
  };
}

/**
 * Adds one message to a cell's observations, keeping at most `maxChars` characters of values,
 * log lines and errors: past that, a log drops its oldest lines (counted in `droppedLogLines`),
 * other values are dropped (counted in `droppedMessages`).
 *
 * @example
 * ```ts
 * import { emptyObservations, recordMessage } from "./observations.ts";
 * const seen = emptyObservations();
 * recordMessage(seen, { type: "KV", cell: "c", phase: "before", key: "k", value: "v" });
 * console.log(seen.phases.before.k); // "v"
 * ```
 */
export function recordMessage(
  observations: CellObservations,
  message: AgentMessage,
  maxChars: number = MAX_CELL_CHARS,
): void {
  switch (message.type) {
    case "KV":
      if (!keep(observations, message.key.length + message.value.length, maxChars)) break;
      (observations.phases[message.phase] ??= Object.create(null))[message.key] = message.value;
      break;
    case "STEP":
      observations.steps[message.step] = {
        exitCode: message.exitCode,
        seconds: message.seconds,
        timedOut: message.timedOut,
      };
      break;
    case "LOG": {
      const lines = observations.logs[message.log] ??= [];
      lines.push(message.line);
      observations.keptChars += message.line.length + 1;
      if (observations.keptChars > maxChars) dropLogHead(observations, message.log);
      break;
    }
    case "ERROR":
      if (!keep(observations, message.message.length, maxChars)) break;
      observations.errors.push({ kind: message.kind, message: message.message });
      break;
    case "CMD": {
      const { out, limit, command } = message;
      if (observations.commands.length >= MAX_CELL_COMMANDS) {
        observations.droppedMessages++;
        break;
      }
      if (!keep(observations, command.length + (out?.length ?? 0), maxChars)) break;
      observations.commands.push({ out, limit, command });
      break;
    }
    case "DONE":
      observations.done = true;
      break;
  }
}

/** Counts `chars` as kept when they fit under the cap; else counts a dropped message. */
function keep(observations: CellObservations, chars: number, maxChars: number): boolean {
  if (observations.keptChars + chars > maxChars) {
    observations.droppedMessages++;
    return false;
  }
  observations.keptChars += chars;
  return true;
}

/** Drops the older half of a log at once, so a flood costs amortised constant time per line. */
function dropLogHead(observations: CellObservations, log: string): void {
  const lines = observations.logs[log];
  const dropped = lines.splice(0, Math.max(1, Math.floor(lines.length / 2)));
  observations.keptChars -= dropped.reduce((sum, line) => sum + line.length + 1, 0);
  observations.droppedLogLines[log] = (observations.droppedLogLines[log] ?? 0) + dropped.length;
}
