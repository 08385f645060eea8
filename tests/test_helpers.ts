/**
 * Helpers shared by the tests: for the host tests that run real programs (fixtures, zdtm, CRIU
 * builds), temporary directories, /proc, polling, killing what a test started and ELF headers; for
 * the command-line tests, the repository's root, the one way to run the command line, and an
 * assertion on usage errors.
 *
 * @module
 */
import assert from "assert";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CRIU_VERSIONS } from "../harness/core/catalog.ts";
import { InputError } from "../harness/core/errors.ts";
import type { CaseDefinition, MatrixPlan } from "../harness/core/types.ts";

/** The repository's top directory, absolute, with a trailing slash. */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** How a test runs the command line (see {@link cliCommand}). */
export interface CliOptions {
  /**
   * `deno task ARGS` with the task's own permissions from deno.json, as a user runs it; else
   * `deno run --allow-all harness/cli/main.ts ARGS`.
   */
  task?: boolean;
  env?: Record<string, string>;
  /** What to do with the command's standard output; stderr is always piped. */
  stdout?: "piped" | "null";
}

/** The command line as a command, to spawn (interrupt tests) or run to its end ({@link runCli}). */
export function cliCommand(args: string[], options: CliOptions = {}): Deno.Command {
  const prefix = options.task
    ? ["task", "--quiet", "--config", join(REPO_ROOT, "deno.json")]
    : ["run", "--allow-all", join(REPO_ROOT, "harness/cli/main.ts")];
  return new Deno.Command(Deno.execPath(), {
    args: [...prefix, ...args],
    env: options.env,
    stdin: "null",
    stdout: options.stdout ?? "piped",
    stderr: "piped",
  });
}

/** Runs the command line to its end: its exit status and what it printed. */
export async function runCli(
  args: string[],
  options: CliOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await cliCommand(args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: options.stdout === "null" ? "" : decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A temporary directory made now and removed when the test process ends. */
export function tempDirRemovedAtUnload(prefix: string): string {
  const dir = Deno.makeTempDirSync({ prefix });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  return dir;
}

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, session, ...]. */
export function stat(pid: number): string[] | null {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** The parent of `pid`, 0 once it is gone. */
export const ppid = (pid: number): number => Number(stat(pid)?.[1] ?? 0);

/** Polls `fn` every `everyMs` until it returns a truthy value; fails after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | null | undefined | false,
  ms = 5000,
  everyMs = 10,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** SIGKILLs each of `pids` that is still there. */
export function killAll(pids: Iterable<number>) {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** The given processes and all their descendants, as /proc shows them now. */
export function processTree(pids: number[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!pid) continue;
    const pp = ppid(pid);
    children.set(pp, [...(children.get(pp) ?? []), pid]);
  }
  const all = new Set<number>();
  const walk = (p: number) => {
    if (p <= 1 || all.has(p)) return;
    all.add(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  pids.forEach(walk);
  return all;
}

/** SIGKILLs the given processes and all their descendants. */
export function killTree(pids: number[]) {
  killAll(processTree(pids));
}

/** The start of an ELF file, as far as the tests look at it. */
export interface ElfHead {
  /** The first 20 bytes (zero-padded if the file had fewer). */
  bytes: Uint8Array;
  /** How many bytes were read. */
  length: number | null;
  /** e_machine (little-endian): 62 EM_X86_64, 183 EM_AARCH64. */
  machine: number;
}

/** Reads the ELF identification, type and machine of `path`. */
export async function readElfHead(path: string): Promise<ElfHead> {
  const bytes = new Uint8Array(20);
  const file = await Deno.open(path);
  let length: number | null;
  try {
    length = await file.read(bytes);
  } finally {
    file.close();
  }
  return { bytes, length, machine: new DataView(bytes.buffer).getUint16(18, true) };
}

/** A plan of one VM, Debian's CRIU 4.1.1 on trixie's kernel on x86_64, running `cases`. */
export function singleVmPlan(outDir: string, cases: CaseDefinition[]): MatrixPlan {
  return {
    jobs: 1,
    outDir,
    vms: [{
      id: "criu-4.1.1_x86_64_kernel-trixie",
      arch: "x86_64",
      criu: CRIU_VERSIONS.find((c) => c.version === "4.1.1")!,
      kernel: { kind: "suite", name: "trixie" },
      cpu: "max",
      cases,
    }],
  };
}

/** Asserts that `run` throws a InputError whose message contains every fragment. */
export function assertUsageError(run: () => unknown, ...fragments: string[]) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected InputError, got ${error}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    }
    return true;
  });
}
