/**
 * The host side of the agent's line protocol (see vm/guest/agent). The guest is untrusted: a
 * line is accepted only when it carries this run's nonce and is well formed; anything else is
 * dropped, and nothing here ever yields a verdict.
 *
 * @module
 */

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
  | { type: "DONE"; cell: string }
  | { type: "BYE"; cell: string };

/** Longest line accepted; a longer one is dropped rather than buffered without bound. */
export const MAX_LINE_LENGTH = 8192;

const WORD = /^[A-Za-z0-9_.:+\/-]{1,128}$/;
const CELL = /^(-|[a-z0-9][a-z0-9._-]{0,127})$/;

/**
 * Parses one line from the agent's channel; returns null for anything not from this run's agent
 * or not well formed.
 *
 * @example
 * ```ts
 * import { parseAgentLine } from "./agent_protocol.ts";
 * const message = parseAgentLine("n0nce sigstop STEP dump 0 1.25 no", "n0nce");
 * console.log(message); // { type: "STEP", cell: "sigstop", step: "dump", exitCode: 0, ... }
 * console.log(parseAgentLine("forged sigstop DONE", "n0nce")); // null
 * ```
 */
export function parseAgentLine(line: string, nonce: string): AgentMessage | null {
  if (line.length > MAX_LINE_LENGTH || nonce.length < 8) return null;
  const prefix = `${nonce} `;
  if (!line.startsWith(prefix)) return null;
  const rest = line.slice(prefix.length);
  const [cell, type] = rest.split(" ", 2);
  if (cell === undefined || type === undefined || !CELL.test(cell)) return null;
  const payload = rest.slice(cell.length + type.length + 2);
  // deno-lint-ignore no-control-regex -- the guest must not smuggle control characters
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(payload)) return null;
  switch (type) {
    case "READY": {
      const facts: Record<string, string> = {};
      for (const token of payload.split(" ")) {
        const eq = token.indexOf("=");
        if (eq <= 0 || !WORD.test(token.slice(0, eq))) return null;
        facts[token.slice(0, eq)] = token.slice(eq + 1);
      }
      return { type, cell, facts };
    }
    case "KV": {
      const [phase, key] = payload.split(" ", 2);
      if (!WORD.test(phase ?? "") || !WORD.test(key ?? "")) return null;
      return { type, cell, phase, key, value: payload.slice(phase.length + key.length + 2) };
    }
    case "STEP": {
      const fields = payload.split(" ");
      if (fields.length !== 4 || !WORD.test(fields[0])) return null;
      const [step, code, seconds, timedOut] = fields;
      if (!/^\d{1,3}$/.test(code) || !/^\d+(\.\d+)?$/.test(seconds)) return null;
      if (timedOut !== "yes" && timedOut !== "no") return null;
      return {
        type,
        cell,
        step,
        exitCode: Number(code),
        seconds: Number(seconds),
        timedOut: timedOut === "yes",
      };
    }
    case "LOG": {
      const space = payload.indexOf(" ");
      const log = space < 0 ? payload : payload.slice(0, space);
      if (!WORD.test(log)) return null;
      return { type, cell, log, line: space < 0 ? "" : payload.slice(space + 1) };
    }
    case "ERROR": {
      const space = payload.indexOf(" ");
      const kind = space < 0 ? payload : payload.slice(0, space);
      if (!WORD.test(kind)) return null;
      return { type, cell, kind, message: space < 0 ? "" : payload.slice(space + 1) };
    }
    case "DONE":
    case "BYE":
      return payload === "" ? { type, cell } : null;
    default:
      return null;
  }
}

/** Everything the agent reported about one cell, grouped for the checks. */
export interface CellObservations {
  /** phase → key → value, e.g. `before` → `thread.target.0.State` → `T`. */
  phases: Record<string, Record<string, string>>;
  steps: Record<string, { exitCode: number; seconds: number; timedOut: boolean }>;
  logs: Record<string, string[]>;
  errors: { kind: string; message: string }[];
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
 * import { emptyObservations } from "./agent_protocol.ts";
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
 * import { emptyObservations, recordMessage } from "./agent_protocol.ts";
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
