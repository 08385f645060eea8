/**
 * The host side of the agent's line protocol (see vm/guest/agent). The guest is untrusted: a
 * line is accepted only when it carries this run's nonce and is well formed; anything else is
 * dropped, and nothing here ever yields a verdict.
 *
 * @module
 */

import type { AgentMessage } from "../harness/core/observations.ts";

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
    case "CMD": {
      const [out, limit] = payload.split(" ", 2);
      const command = payload.slice((out?.length ?? 0) + (limit?.length ?? 0) + 2);
      if (!WORD.test(out ?? "") || !/^(-|\d{1,5})$/.test(limit ?? "") || command === "") {
        return null;
      }
      return {
        type,
        cell,
        out: out === "-" ? null : out,
        limit: limit === "-" ? null : Number(limit),
        command,
      };
    }
    case "DONE":
    case "BYE":
      return payload === "" ? { type, cell } : null;
    default:
      return null;
  }
}
