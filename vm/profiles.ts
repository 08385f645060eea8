/**
 * QEMU profiles: how each guest arch is booted. One place to read every QEMU flag the harness uses.
 *
 * @module
 */
import type { Arch } from "../harness/core/types.ts";

/** The accelerator: KVM only where a probe boot proved it works, TCG otherwise. */
export type Accel = "kvm" | "tcg";

/** Everything needed to turn (arch, accel, cpu) into a QEMU command line. */
export interface QemuProfile {
  arch: Arch;
  binary: string;
  /** The serial console device the kernel writes to. */
  console: string;
  /** Kernel parameters this arch's guests need besides the common ones. */
  kernelArgs: readonly string[];
  /** KVM can only accelerate a guest of the host's own arch. */
  kvmCapable: boolean;
  machineArgs(accel: Accel, cpu: string): string[];
}

const hostArch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";

/** The profile of each arch. */
export const QEMU_PROFILES: Record<Arch, QemuProfile> = {
  x86_64: {
    arch: "x86_64",
    binary: "qemu-system-x86_64",
    console: "ttyS0",
    // An emulated guest starved by a loaded host can miss the kernel's check that the IO-APIC
    // timer ticks, and panics ("IO-APIC + timer doesn't work!"); QEMU's timer does work.
    kernelArgs: ["no_timer_check"],
    kvmCapable: hostArch === "x86_64",
    machineArgs: (accel, cpu) => [
      "-M",
      "pc",
      "-accel",
      accel,
      "-cpu",
      accel === "kvm" ? "host" : cpu,
      "-smp",
      "1",
    ],
  },
  aarch64: {
    arch: "aarch64",
    binary: "qemu-system-aarch64",
    console: "ttyAMA0",
    kernelArgs: [],
    kvmCapable: hostArch === "aarch64",
    machineArgs: (accel, cpu) => [
      "-M",
      "virt",
      "-accel",
      accel === "tcg" ? "tcg,thread=multi" : "kvm",
      "-cpu",
      accel === "kvm" ? "host" : cpu,
      "-smp",
      "2",
    ],
  },
};

/** What one boot needs besides the profile. */
export interface BootSpec {
  profile: QemuProfile;
  accel: Accel;
  cpu: string;
  kernel: string;
  initrd: string;
  /**
   * The agent's virtio-serial port as a QEMU pipe chardev: QEMU reads `${agentPipe}.in` and writes
   * `${agentPipe}.out`, two FIFOs the harness made (plain files to Deno's permissions, unlike a
   * unix socket, which would need network permission).
   */
  agentPipe: string;
  memoryMiB: number;
  /**
   * A QEMU monitor (HMP) on two more FIFOs, `${monitorPipe}.in` and `.out`: how the harness saves
   * a booted guest's state (see vm/vm_state.ts). None when unset.
   */
  monitorPipe?: string;
  /** A saved guest state to start from instead of booting (`-incoming`, see vm/vm_state.ts). */
  incoming?: string;
}

/**
 * The QEMU command line of a boot: no network device, no display, the console on stdout, the
 * agent on its own virtio-serial port, and no reboot (a panic ends QEMU).
 *
 * @example
 * ```ts
 * import { QEMU_PROFILES, qemuCommand } from "./profiles.ts";
 * const argv = qemuCommand({
 *   profile: QEMU_PROFILES.x86_64, accel: "tcg", cpu: "max", kernel: "vmlinuz",
 *   initrd: "initrd.cpio", agentPipe: "/tmp/agent", memoryMiB: 1536,
 * });
 * console.log(argv.includes("-nic")); // true: "-nic none"
 * ```
 */
export function qemuCommand(spec: BootSpec): string[] {
  const { profile } = spec;
  return [
    profile.binary,
    ...profile.machineArgs(spec.accel, spec.cpu),
    "-m",
    String(spec.memoryMiB),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-nic",
    "none",
    "-no-reboot",
    "-serial",
    "stdio",
    "-kernel",
    spec.kernel,
    "-initrd",
    spec.initrd,
    "-append",
    [
      `console=${profile.console}`,
      "rdinit=/init",
      "panic=-1",
      "loglevel=4",
      "mitigations=off",
      "random.trust_cpu=on",
      // The self-tests of the kernel's crypto algorithms take about a second of every emulated
      // boot; they check the kernel's own implementations, not anything CRIU does.
      "cryptomgr.notests",
      ...profile.kernelArgs,
    ].join(" "),
    "-chardev",
    `pipe,id=agent,path=${spec.agentPipe}`,
    "-device",
    "virtio-serial-pci",
    "-device",
    "virtserialport,chardev=agent,name=criu-matrix.agent",
    ...(spec.monitorPipe
      ? ["-chardev", `pipe,id=monitor,path=${spec.monitorPipe}`, "-mon", "chardev=monitor"]
      : []),
    // QEMU runs the command with /bin/sh; the path is quoted for it.
    ...(spec.incoming ? ["-incoming", `exec:cat ${shellQuote(spec.incoming)}`] : []),
  ];
}

/**
 * `text` as one word for /bin/sh, in single quotes.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./profiles.ts";
 * shellQuote("/a b/it's"); // "'/a b/it'\\''s'"
 * ```
 */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
