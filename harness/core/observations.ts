/**
 * What the guest agent reported about each cell, as the checks read it: the accepted messages
 * of its line protocol (parsed and vetted in vm/agent_protocol.ts) folded into one record per
 * cell. Pure: nothing here ever yields a verdict.
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

/** Everything the agent reported about one cell, grouped for the checks. */
export interface CellObservations {
  /** phase → key → value, e.g. `before` → `thread.target.0.State` → `T`. */
  phases: Record<string, Record<string, string>>;
  steps: Record<string, { exitCode: number; seconds: number; timedOut: boolean }>;
  logs: Record<string, string[]>;
  errors: { kind: string; message: string }[];
  done: boolean;
}

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
    done: false,
  };
}

/**
 * Adds one message to a cell's observations.
 *
 * @example
 * ```ts
 * import { emptyObservations, recordMessage } from "./observations.ts";
 * const seen = emptyObservations();
 * recordMessage(seen, { type: "KV", cell: "c", phase: "before", key: "k", value: "v" });
 * console.log(seen.phases.before.k); // "v"
 * ```
 */
export function recordMessage(observations: CellObservations, message: AgentMessage): void {
  switch (message.type) {
    case "KV":
      (observations.phases[message.phase] ??= Object.create(null))[message.key] = message.value;
      break;
    case "STEP":
      observations.steps[message.step] = {
        exitCode: message.exitCode,
        seconds: message.seconds,
        timedOut: message.timedOut,
      };
      break;
    case "LOG":
      (observations.logs[message.log] ??= []).push(message.line);
      break;
    case "ERROR":
      observations.errors.push({ kind: message.kind, message: message.message });
      break;
    case "DONE":
      observations.done = true;
      break;
  }
}
