/**
 * The kernel file a guest boots, in the form QEMU starts fastest under emulation.
 *
 * An x86 bzImage spends over a second of every TCG boot in firmware-run setup code and in
 * decompressing itself. The ELF kernel inside it, when it has a PVH entry point, is loaded by QEMU
 * itself and entered directly: the same kernel, booted without that detour. Anything else (an
 * arm64 Image, a bzImage without PVH support or compressed in a format no host tool reads) is
 * booted as it is.
 *
 * @module
 */
import { join } from "node:path";
import { constants, gunzipSync } from "node:zlib";
import { runCommand } from "../harness/host/exec.ts";
import type { Arch } from "../harness/core/types.ts";

/** The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst). */
const SETUP_SECTS = 0x1f1;
const HEADER_MAGIC = 0x202;
const PROTOCOL_VERSION = 0x206;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;

/**
 * Host decompressors for the formats Debian kernels and their modules use, by their leading bytes
 * and file name endings. The kernel build appends the decompressed size (4 bytes) to every format but gzip, whose own
 * trailer holds it; the tools reject those bytes as trailing garbage.
 */
export const DECOMPRESSORS: {
  magic: number[];
  /** A compressed file's name ends so (e.g. a kernel module, `af_key.ko.xz`). */
  extension: string;
  command: string;
  sizeAppended: boolean;
}[] = [
  { magic: [0x1f, 0x8b], extension: ".gz", command: "gzip -dc", sizeAppended: false },
  {
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    extension: ".xz",
    command: "xz -dc",
    sizeAppended: true,
  },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], extension: ".zst", command: "zstd -qdc", sizeAppended: true },
  // lz4's legacy frame, the one the kernel build writes (lz4 -l).
  { magic: [0x02, 0x21, 0x4c, 0x18], extension: ".lz4", command: "lz4 -dc", sizeAppended: true },
];

/** How much of a gzipped kernel image {@link bootImageArch} unpacks: the headers are at its start. */
const GZIPPED_HEAD_BYTES = 64 * 1024;

/** Where an arm64 Image keeps its magic number, `ARM\x64` (Documentation/arch/arm64/booting.rst). */
const ARM64_MAGIC = 0x38;

/**
 * The arch a kernel image boots on, read from its boot header (x86's setup header, arm64's
 * Image header; a gzipped image, as Debian ships arm64's, is looked into), or null when it is
 * neither.
 *
 * @example
 * ```ts
 * import { bootImageArch } from "./boot_kernel.ts";
 * const image = new Uint8Array(0x400);
 * image.set(new TextEncoder().encode("HdrS"), 0x202);
 * console.log(bootImageArch(image)); // "x86_64"
 * ```
 */
export function bootImageArch(image: Uint8Array): Arch | null {
  // Of a gzipped image, only the start is unpacked (a sync flush, as the stream goes on).
  const bytes = image[0] === 0x1f && image[1] === 0x8b
    ? gunzipSync(image.subarray(0, GZIPPED_HEAD_BYTES), { finishFlush: constants.Z_SYNC_FLUSH })
    : image;
  const text = (from: number) => new TextDecoder("latin1").decode(bytes.subarray(from, from + 4));
  if (text(HEADER_MAGIC) === "HdrS") return "x86_64";
  if (text(ARM64_MAGIC) === "ARM\x64") return "aarch64";
  return null;
}

/**
 * The compressed kernel inside an x86 bzImage, or null for anything else (e.g. an arm64 Image)
 * and for boot protocols before 2.08, which do not say where it is.
 *
 * @example
 * ```ts
 * import { bzImagePayload } from "./boot_kernel.ts";
 * console.log(bzImagePayload(new Uint8Array(4096))); // null: no "HdrS" setup header
 * ```
 */
export function bzImagePayload(image: Uint8Array): Uint8Array | null {
  if (image.length < PAYLOAD_LENGTH + 4) return null;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const magic = new TextDecoder().decode(image.subarray(HEADER_MAGIC, HEADER_MAGIC + 4));
  if (magic !== "HdrS" || view.getUint16(PROTOCOL_VERSION, true) < 0x208) return null;
  // The protected-mode kernel follows the boot sector and the setup sectors (0 means 4).
  const start = ((image[SETUP_SECTS] || 4) + 1) * 512 + view.getUint32(PAYLOAD_OFFSET, true);
  const end = start + view.getUint32(PAYLOAD_LENGTH, true);
  return end <= image.length ? image.subarray(start, end) : null;
}

/**
 * Whether `elf` is a 64-bit little-endian ELF with a PVH entry point (a Xen ELF note of type
 * XEN_ELFNOTE_PHYS32_ENTRY), which QEMU's x86 machines boot directly with `-kernel`.
 *
 * @example
 * ```ts
 * import { hasPvhEntry } from "./boot_kernel.ts";
 * console.log(hasPvhEntry(new TextEncoder().encode("not an ELF file at all"))); // false
 * ```
 */
export function hasPvhEntry(elf: Uint8Array): boolean {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (elf.length < 64 || view.getUint32(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    return false;
  }
  const word = (offset: number) => Number(view.getBigUint64(offset, true));
  const align4 = (size: number) => (size + 3) & ~3;
  const programHeaders = word(0x20);
  const entrySize = view.getUint16(0x36, true);
  const entries = view.getUint16(0x38, true);
  for (let i = 0; i < entries; i++) {
    const header = programHeaders + i * entrySize;
    if (header + 56 > elf.length) return false;
    if (view.getUint32(header, true) !== 4) continue; // PT_NOTE
    let note = word(header + 8);
    const end = Math.min(note + word(header + 32), elf.length);
    while (note + 12 <= end) {
      const nameSize = view.getUint32(note, true);
      const descSize = view.getUint32(note + 4, true);
      const name = new TextDecoder().decode(elf.subarray(note + 12, note + 12 + nameSize));
      if (name === "Xen\0" && view.getUint32(note + 8, true) === 18) return true;
      note += 12 + align4(nameSize) + align4(descSize);
    }
  }
  return false;
}

/**
 * Writes to `target` the kernel QEMU should boot for `vmlinuz`: its PVH-bootable ELF kernel when
 * it is a bzImage holding one, else `vmlinuz` itself (moved).
 *
 * @example
 * ```ts
 * import { writeBootKernel } from "./boot_kernel.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/vmlinuz`, "an arm64 Image");
 * await writeBootKernel(`${dir}/vmlinuz`, `${dir}/kernel`, dir);
 * console.log(await Deno.readTextFile(`${dir}/kernel`)); // "an arm64 Image": booted as it is
 * ```
 */
export async function writeBootKernel(
  vmlinuz: string,
  target: string,
  workDir: string,
): Promise<void> {
  const payload = bzImagePayload(await Deno.readFile(vmlinuz));
  const format = payload &&
    DECOMPRESSORS.find(({ magic }) => magic.every((byte, i) => payload[i] === byte));
  if (payload && format) {
    const compressed = join(workDir, "payload");
    const elf = join(workDir, "vmlinux");
    await Deno.writeFile(
      compressed,
      format.sizeAppended ? payload.subarray(0, payload.length - 4) : payload,
    );
    await runCommand(["sh", "-c", `${format.command} "$1" > "$2"`, "unpack", compressed, elf]);
    await Deno.remove(compressed);
    if (hasPvhEntry(await Deno.readFile(elf))) {
      await Deno.rename(elf, target);
      await Deno.remove(vmlinuz);
      return;
    }
    await Deno.remove(elf);
  }
  await Deno.rename(vmlinuz, target);
}
