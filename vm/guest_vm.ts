/**
 * A guest VM as a function call with a timeout: boot it, run cells through its agent, power it
 * off. Kernel panics, hangs and boot failures come back as {@link VmFailure} values carrying the
 * console, never as crashes of the harness.
 *
 * @module
 */
import { type BootSpec, qemuCommand, shellQuote } from "./profiles.ts";
import { exists } from "./build_cache.ts";
import { runCommand } from "../harness/host/exec.ts";
import { GUEST_KERNEL_FAILURE, type RecordedCommand } from "../harness/core/types.ts";
import {
  type AgentMessage,
  type CellObservations,
  emptyObservations,
  recordMessage,
} from "../harness/core/observations.ts";
import { MAX_LINE_LENGTH, parseAgentLine } from "./agent_protocol.ts";

/** Why a VM could not do what was asked: the cell becomes `error` with this kind. */
export interface VmFailure {
  /**
   * `guest-kernel`: the guest went silent after its kernel reported a failure of its own (a soft
   * lockup, an oops, an RCU stall) during the cell; the harness runs such a cell once more.
   */
  kind: "boot" | "panic" | "timeout" | "exited" | typeof GUEST_KERNEL_FAILURE;
  message: string;
  /** True when QEMU itself had ended (rather than a guest that stayed silent too long). */
  qemuExited?: boolean;
}

/** Most console characters kept in memory: the end of the console, where panics are. */
export const MAX_CONSOLE_CHARS = 4 << 20;
/** Most bytes of console written to a boot's console file: a TCG boot prints about 50 KB. */
export const MAX_CONSOLE_FILE_BYTES = 64 << 20;
/** Most characters of agent lines kept for the agent logs: the end is kept. */
export const MAX_TRANSCRIPT_CHARS = 8 << 20;

/** Most commands kept of a boot: the agent runs one (`criu check`). */
const MAX_BOOT_COMMANDS = 10;

/** A whole panic line: a console chunk can end mid-line, and half a reason helps nobody. */
const PANIC = /Kernel panic - not syncing[^\n]*\n/;
/**
 * A guest kernel's own report of a failure it may live on after (seen under TCG on a loaded
 * host: a soft lockup in criu's ptrace of a trapped task, an oops in perf's context switch),
 * unlike a panic; it explains a guest that then says nothing.
 */
const KERNEL_FAILURE =
  /(?:BUG: soft lockup|Internal error: Oops|Oops: |BUG: unable to handle|Unable to handle kernel|rcu: INFO: \S+ detected stall)[^\n]*\n/;

/** Every QEMU this process started and has not reaped, so an interrupted run can kill them. */
export const liveQemuProcesses = new Set<Deno.ChildProcess>();

/**
 * SIGKILLs every QEMU of {@link liveQemuProcesses}: what a process that is about to exit early
 * does, so that no guest outlives it.
 *
 * @example
 * ```ts
 * import { killLiveQemuProcesses } from "./guest_vm.ts";
 * killLiveQemuProcesses(); // nothing to kill in a process that booted no guest
 * ```
 */
export function killLiveQemuProcesses(): void {
  for (const child of liveQemuProcesses) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Reads a stream as lines, dropping over-long ones (the guest is untrusted). */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line.length <= MAX_LINE_LENGTH) yield line;
    }
    if (buffer.length > MAX_LINE_LENGTH) buffer = "";
  }
}

/** A running guest. Create it with {@link GuestVm.boot}. */
export class GuestVm {
  /** The end of what the console printed so far: at most {@link MAX_CONSOLE_CHARS} characters. */
  console = "";
  /** Characters the console printed in all, including those no longer kept in {@link console}. */
  consoleLength = 0;
  /** What the agent said at READY: kernel, arch, criu version. */
  facts: Record<string, string> = {};
  /** Seconds from QEMU's start to the agent's READY. */
  bootSeconds = 0;
  /** The commands the agent ran while booting (its `criu check`), which every cell follows. */
  bootCommands: RecordedCommand[] = [];
  #exited: Promise<Deno.CommandStatus>;
  #exitStatus: Deno.CommandStatus | null = null;
  #pending: AgentMessage[] = [];
  #wake: (() => void) | null = null;
  #channelClosed = false;
  #toAgent: Deno.FsFile | null = null;
  #channelDone: Promise<void> = Promise.resolve();
  /** Whether the read-only open of the host-bound FIFO still waits for QEMU to open its end. */
  #openingFromAgent = false;
  #transcript: string[] = [];
  #transcriptChars = 0;
  /** Bytes of console written to the console file so far, against {@link MAX_CONSOLE_FILE_BYTES}. */
  #consoleFileBytes = 0;

  private constructor(
    private readonly child: Deno.ChildProcess,
    private readonly nonce: string,
    private readonly consoleFile: Deno.FsFile,
    private readonly agentPipe: string,
  ) {
    liveQemuProcesses.add(child);
    this.#exited = child.status.then(async (status) => {
      this.#exitStatus = status;
      liveQemuProcesses.delete(child);
      // A QEMU that died before opening its end leaves our read-only open waiting for a writer:
      // be that writer for a moment, so the open returns and the channel reads end-of-file.
      if (this.#openingFromAgent) {
        await Deno.open(`${agentPipe}.out`, { write: true }).then((end) => end.close(), () => {});
      }
      if (this.#monitorPipe && this.#openingMonitor) {
        await Deno.open(`${this.#monitorPipe}.out`, { write: true })
          .then((end) => end.close(), () => {});
      }
      this.#notify();
      return status;
    });
    this.#pumpConsole();
  }

  /**
   * Boots a guest and waits for its agent's READY (and its `criu check`). On failure the QEMU
   * process is killed and a {@link VmFailure} is returned along with the console so far.
   *
   * @example
   * ```ts ignore
   * import { GuestVm } from "./guest_vm.ts";
   * const vm = await GuestVm.boot(spec, { nonce, consoleLog: "console.log", bootTimeoutMs: 60_000 });
   * if (!(vm instanceof GuestVm)) console.log(vm.failure.kind);
   * ```
   */
  static async boot(
    spec: BootSpec,
    options: {
      nonce: string;
      consoleLog: string;
      bootTimeoutMs: number;
      /**
       * The facts of a guest started from a saved state (`spec.incoming`), kept when it was
       * saved: its agent is told only the new nonce (RESUMED), not asked again (HELLO).
       */
      resumedFacts?: Record<string, string>;
      /** The commands that guest's agent ran at its HELLO (see {@link GuestVm.bootCommands}). */
      resumedBootCommands?: RecordedCommand[];
    },
  ): Promise<GuestVm | { failure: VmFailure; console: string }> {
    const started = performance.now();
    const fifos = [spec.agentPipe, ...spec.monitorPipe ? [spec.monitorPipe] : []]
      .flatMap((pipe) => [`${pipe}.in`, `${pipe}.out`]);
    for (const fifo of fifos) await Deno.remove(fifo).catch(() => {});
    await runCommand(["mkfifo", "-m", "600", ...fifos]);
    // QEMU must not outlive the harness, even one killed with SIGKILL: the kernel kills it when
    // its parent dies (util-linux's setpriv sets the parent-death signal, then execs QEMU).
    const [program, ...args] = ["setpriv", "--pdeathsig", "KILL", "--", ...qemuCommand(spec)];
    const consoleFile = await Deno.open(options.consoleLog, {
      write: true,
      create: true,
      append: true,
    });
    const child = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const vm = new GuestVm(child, options.nonce, consoleFile, spec.agentPipe);
    const deadline = started + options.bootTimeoutMs;
    vm.#openChannel();
    if (spec.monitorPipe) vm.#openMonitor(spec.monitorPipe);
    if (options.resumedFacts) {
      await vm.#send(`RESUMED ${options.nonce}`);
      if ((await vm.#waitFor((m) => m.type === "READY", deadline))?.type === "READY") {
        vm.facts = { ...options.resumedFacts };
        vm.bootCommands = [...options.resumedBootCommands ?? []];
        vm.bootSeconds = (performance.now() - started) / 1000;
        return vm;
      }
      const failure = vm.#failure("boot", options.bootTimeoutMs);
      await vm.kill();
      return { failure, console: vm.console };
    }
    await vm.#send(`HELLO ${options.nonce}`);
    const ready = await vm.#waitFor((m) => m.type === "READY", deadline);
    if (ready?.type === "READY") {
      vm.facts = ready.facts;
      const check = await vm.#waitFor((m) => {
        if (m.type === "CMD" && vm.bootCommands.length < MAX_BOOT_COMMANDS) {
          vm.bootCommands.push({ out: m.out, limit: m.limit, command: m.command });
        }
        return m.type === "KV" && m.phase === "vm" && m.key === "criu_check";
      }, deadline);
      if (check?.type === "KV") {
        vm.facts.criu_check = check.value;
        vm.bootSeconds = (performance.now() - started) / 1000;
        return vm;
      }
    }
    const failure = vm.#failure("boot", options.bootTimeoutMs);
    await vm.kill();
    return { failure, console: vm.console };
  }

  /**
   * The console printed from `offset` on (use {@link consoleLength} before a cell as the
   * offset); when its beginning is no longer kept, a first line says how much is missing.
   */
  consoleSince(offset: number): string {
    const keptFrom = this.consoleLength - this.console.length;
    if (offset >= keptFrom) return this.console.slice(offset - keptFrom);
    return `[criu-matrix: console cut to its last ${MAX_CONSOLE_CHARS} characters; ` +
      `${keptFrom - offset} earlier characters dropped]\n${this.console}`;
  }

  /**
   * The agent lines accepted from `offset` on, for the cell's agent log (use
   * {@link transcriptLength} before a cell as the offset); when earlier ones were dropped to
   * stay under {@link MAX_TRANSCRIPT_CHARS}, a first line says how many.
   */
  transcriptSince(offset: number): string[] {
    const keptFrom = this.transcriptDropped;
    if (offset >= keptFrom) return this.#transcript.slice(offset - keptFrom);
    return [
      `[criu-matrix: transcript cut to its last ${MAX_TRANSCRIPT_CHARS} characters; ` +
      `${keptFrom - offset} earlier lines dropped]`,
      ...this.#transcript,
    ];
  }

  /** How many agent lines were accepted so far, including those no longer kept. */
  transcriptLength = 0;

  /** How many of the accepted agent lines are no longer kept (see {@link MAX_TRANSCRIPT_CHARS}). */
  get transcriptDropped(): number {
    return this.transcriptLength - this.#transcript.length;
  }

  /**
   * Runs one cell: sends `RUN cell params` and gathers the agent's observations until DONE.
   * Returns a failure when the guest panics, exits, says nothing for `timeoutMs`, or has not
   * finished the cell `cellLimitMs` after it started (a guest that keeps talking).
   */
  async runCell(
    cell: string,
    params: string[],
    timeoutMs: number,
    cellLimitMs: number = Infinity,
  ): Promise<{ observations: CellObservations; failure: VmFailure | null }> {
    const observations = emptyObservations();
    const consoleAtStart = this.consoleLength;
    await this.#send(["RUN", cell, ...params].join(" "));
    const limit = performance.now() + cellLimitMs;
    let deadline = Math.min(performance.now() + timeoutMs, limit);
    while (true) {
      const message = await this.#waitFor((m) => m.cell === cell, deadline);
      if (!message) {
        const failure = performance.now() >= limit && this.#panicLine === null &&
            this.#exitStatus === null && !this.#channelClosed
          ? {
            kind: "timeout" as const,
            message: `the cell ran longer than ${cellLimitMs / 1000} s`,
          }
          : this.#failure("timeout", timeoutMs, consoleAtStart);
        return { observations, failure };
      }
      // Any sign of life from the agent restarts the no-output watchdog, never the cell limit.
      deadline = Math.min(performance.now() + timeoutMs, limit);
      recordMessage(observations, message);
      if (message.type === "DONE") return { observations, failure: null };
    }
  }

  /** Asks the agent to power the guest off; kills QEMU if it has not exited within `graceMs`. */
  async shutdown(graceMs = 10_000): Promise<void> {
    if (this.#exitStatus === null && !this.#channelClosed) {
      await this.#send("POWEROFF").catch(() => {});
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    await Promise.race([this.#exited, grace]);
    clearTimeout(timer);
    await this.kill();
  }

  /** Kills QEMU at once and waits for it to be reaped. */
  async kill(): Promise<void> {
    if (this.#exitStatus === null) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // It exited between the check and the kill.
      }
    }
    await this.#exited;
    await this.#channelDone;
    this.#toAgent?.close();
    this.#toAgent = null;
    this.#toMonitor?.close();
    this.#toMonitor = null;
    await this.#monitorDone;
    for (const pipe of [this.agentPipe, ...this.#monitorPipe ? [this.#monitorPipe] : []]) {
      for (const end of [".in", ".out"]) await Deno.remove(`${pipe}${end}`).catch(() => {});
    }
    await this.#consoleDone;
    this.consoleFile.close();
  }

  #consoleDone: Promise<void> = Promise.resolve();
  /** The console's kernel panic line, once there is one. */
  #panicLine: string | null = null;
  /** The guest kernel's latest failure report and the console length just after it. */
  #kernelFailure: { line: string; at: number } | null = null;

  #pumpConsole(): void {
    const encoder = new TextEncoder();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        this.consoleLength += text.length;
        this.console += text;
        if (this.console.length > MAX_CONSOLE_CHARS) {
          this.console = this.console.slice(-MAX_CONSOLE_CHARS / 2);
        }
        await this.#writeConsoleFile(encoder.encode(text));
        // Only the new text (and the line it may finish) can add a panic: no rescans.
        const tail = this.console.slice(-(text.length + 256));
        const panic = this.#panicLine ?? tail.match(PANIC)?.[0];
        if (panic && !this.#panicLine) {
          this.#panicLine = panic.trim();
          this.#notify();
        }
        // A report that ended in the text before this chunk was recorded then, at its place.
        const kernelFailure = KERNEL_FAILURE.exec(tail);
        if (
          kernelFailure && kernelFailure.index + kernelFailure[0].length > tail.length - text.length
        ) {
          this.#kernelFailure = { line: kernelFailure[0].trim(), at: this.consoleLength };
        }
      }
    };
    this.#consoleDone = Promise.all([
      pump(this.child.stdout),
      pump(this.child.stderr),
    ]).then(() => {});
  }

  /** Appends to the console file until it holds {@link MAX_CONSOLE_FILE_BYTES}, then says so once. */
  async #writeConsoleFile(bytes: Uint8Array): Promise<void> {
    if (this.#consoleFileBytes >= MAX_CONSOLE_FILE_BYTES) return;
    this.#consoleFileBytes += bytes.length;
    await this.consoleFile.write(bytes);
    if (this.#consoleFileBytes >= MAX_CONSOLE_FILE_BYTES) {
      await this.consoleFile.write(
        new TextEncoder().encode(
          `\n[criu-matrix: console file cut at ${MAX_CONSOLE_FILE_BYTES} bytes; ` +
            "each cell's console.log keeps the end]\n",
        ),
      );
    }
  }

  /**
   * Opens both FIFOs of the agent's channel and starts reading it. The guest-bound end is opened
   * read-write, which never blocks: the commands are a few short lines, so they fit the pipe's
   * buffer even before the guest listens. The host-bound end is opened read-only, so QEMU's exit
   * (it holds the only writer) ends the reading with end-of-file.
   */
  #openChannel(): void {
    this.#toAgent = Deno.openSync(`${this.agentPipe}.in`, { read: true, write: true });
    this.#channelDone = (async () => {
      try {
        this.#openingFromAgent = true;
        using fromAgent = await Deno.open(`${this.agentPipe}.out`, { read: true })
          .finally(() => this.#openingFromAgent = false);
        for await (const line of lines(fromAgent.readable)) {
          const message = parseAgentLine(line, this.nonce);
          if (!message) continue;
          this.#keepTranscriptLine(line.slice(this.nonce.length + 1));
          this.#pending.push(message);
          this.#notify();
        }
      } catch {
        // The channel breaks when QEMU dies; the exit status says why.
      }
      this.#channelClosed = true;
      this.#notify();
    })();
  }

  #monitorPipe: string | null = null;
  #toMonitor: Deno.FsFile | null = null;
  #monitorDone: Promise<void> = Promise.resolve();
  /** Whether the read-only open of the monitor's host-bound FIFO still waits for QEMU. */
  #openingMonitor = false;
  /** What the monitor printed so far (a save prints a few lines). */
  #monitorText = "";

  /** Opens the QEMU monitor's FIFOs the way {@link #openChannel} opens the agent's. */
  #openMonitor(pipe: string): void {
    this.#monitorPipe = pipe;
    this.#toMonitor = Deno.openSync(`${pipe}.in`, { read: true, write: true });
    this.#monitorDone = (async () => {
      try {
        this.#openingMonitor = true;
        using fromMonitor = await Deno.open(`${pipe}.out`, { read: true })
          .finally(() => this.#openingMonitor = false);
        const decoder = new TextDecoder();
        for await (const chunk of fromMonitor.readable) {
          // Only the end matters: the status line after a save.
          this.#monitorText = (this.#monitorText + decoder.decode(chunk, { stream: true }))
            .slice(-65536);
          this.#notify();
        }
      } catch {
        // The monitor breaks when QEMU dies.
      }
    })();
  }

  /**
   * Saves the running guest's state to `file` (QEMU migration to a file through `cat`), then
   * lets the guest run on. The guest is paused while its memory is written, about a second.
   * Resolves to whether `file` holds a complete state; needs a boot with `spec.monitorPipe`.
   */
  async saveState(file: string, timeoutMs: number): Promise<boolean> {
    if (!this.#toMonitor) return false;
    const deadline = performance.now() + timeoutMs;
    const part = `${file}.part`;
    // The file appears only once cat has written all of the state and ended.
    const command = `exec:cat > ${shellQuote(part)} && mv ${shellQuote(part)} ${shellQuote(file)}`;
    const hmpString = (text: string) => `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
    const sendMonitor = (line: string) =>
      this.#toMonitor!.write(new TextEncoder().encode(`${line}\n`));
    this.#monitorText = "";
    // In MiB/s: QEMU's default, 32 MiB/s, would pause the guest for seconds.
    await sendMonitor("migrate_set_parameter max-bandwidth 100000");
    // Without -d the monitor takes the next command only once the migration has ended.
    await sendMonitor(`migrate ${hmpString(command)}`);
    await sendMonitor("info status");
    let status: string | undefined;
    while (!(status = this.#monitorText.match(/VM status: ([^\r\n]*)/)?.[1])) {
      if (!await this.#waitUntil(deadline) || this.#exitStatus !== null) return false;
    }
    await sendMonitor("cont");
    if (!status.includes("postmigrate")) return false;
    while (!await exists(file)) {
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** Waits for any news (a message, a monitor line, QEMU's end) until `deadline`; false after it. */
  async #waitUntil(deadline: number): Promise<boolean> {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return true;
  }

  /** Keeps a transcript line; past the cap, the older half goes at once (amortised cost). */
  #keepTranscriptLine(line: string): void {
    this.#transcript.push(line);
    this.transcriptLength++;
    this.#transcriptChars += line.length + 1;
    if (this.#transcriptChars > MAX_TRANSCRIPT_CHARS) {
      const dropped = this.#transcript.splice(0, Math.ceil(this.#transcript.length / 2));
      this.#transcriptChars -= dropped.reduce((sum, kept) => sum + kept.length + 1, 0);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #send(line: string): Promise<void> {
    if (!this.#toAgent) throw new Error("agent channel not open");
    await this.#toAgent.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Waits for the first pending message matching `accept` (dropping others) until `deadline`. */
  async #waitFor(
    accept: (message: AgentMessage) => boolean,
    deadline: number,
  ): Promise<AgentMessage | null> {
    while (true) {
      while (this.#pending.length > 0) {
        const message = this.#pending.shift()!;
        if (accept(message)) return message;
      }
      if (this.#exitStatus !== null || this.#channelClosed || this.#panicLine !== null) {
        return null;
      }
      if (!await this.#waitUntil(deadline)) return null;
    }
  }

  #failure(whenSilent: "boot" | "timeout", timeoutMs: number, consoleAtStart = 0): VmFailure {
    if (this.#panicLine) return { kind: "panic", message: this.#panicLine };
    if (this.#exitStatus !== null || this.#channelClosed) {
      const code = this.#exitStatus?.code ?? "?";
      return {
        kind: whenSilent === "boot" ? "boot" : "exited",
        qemuExited: true,
        message: `QEMU exited (code ${code}) ${
          whenSilent === "boot" ? "before the agent was ready" : "while the cell ran"
        }`,
      };
    }
    if (whenSilent === "boot") {
      return { kind: "boot", message: `the agent was not ready within ${timeoutMs / 1000} s` };
    }
    const silent = `the guest said nothing for ${timeoutMs / 1000} s`;
    // Only a report made while this cell ran explains its silence.
    return this.#kernelFailure && this.#kernelFailure.at > consoleAtStart
      ? {
        kind: GUEST_KERNEL_FAILURE,
        message: `${silent} after its kernel said: ${this.#kernelFailure.line}`,
      }
      : { kind: "timeout", message: silent };
  }
}
