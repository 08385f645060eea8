import assert from "assert";
import { join } from "node:path";
import { bzImagePayload, hasPvhEntry, writeBootKernel } from "../../vm/boot_kernel.ts";
import { runCommand } from "../../harness/host/exec.ts";

/** A minimal ELF64 whose one PT_NOTE segment holds one note (`name`, `type`). */
function elfWithNote(name: string, type: number): Uint8Array {
  const nameBytes = new TextEncoder().encode(`${name}\0`);
  const namePadded = (nameBytes.length + 3) & ~3;
  const noteSize = 12 + namePadded + 8;
  const elf = new Uint8Array(64 + 56 + noteSize);
  const view = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // \x7fELF, 64-bit, little-endian, version 1
  view.setBigUint64(0x20, 64n, true); // program headers right after the ELF header
  view.setUint16(0x36, 56, true);
  view.setUint16(0x38, 1, true);
  view.setUint32(64, 4, true); // PT_NOTE
  view.setBigUint64(64 + 8, 120n, true); // p_offset
  view.setBigUint64(64 + 32, BigInt(noteSize), true); // p_filesz
  view.setUint32(120, nameBytes.length, true);
  view.setUint32(124, 8, true);
  view.setUint32(128, type, true);
  elf.set(nameBytes, 132);
  return elf;
}

/** A bzImage-shaped file: boot sector, `setupSects` setup sectors (0 means 4), then the payload. */
function bzImage(payload: Uint8Array, { setupSects = 2, protocol = 0x20f } = {}): Uint8Array {
  const start = ((setupSects || 4) + 1) * 512;
  const payloadOffset = 0x100;
  const image = new Uint8Array(start + payloadOffset + payload.length + 16);
  const view = new DataView(image.buffer);
  image[0x1f1] = setupSects;
  image.set(new TextEncoder().encode("HdrS"), 0x202);
  view.setUint16(0x206, protocol, true);
  view.setUint32(0x248, payloadOffset, true);
  view.setUint32(0x24c, payload.length, true);
  image.set(payload, start + payloadOffset);
  return image;
}

async function compress(command: string, data: Uint8Array, dir: string): Promise<Uint8Array> {
  const input = join(dir, "input");
  await Deno.writeFile(input, data);
  await runCommand(["sh", "-c", `${command} < "$1" > "$1.out"`, "pack", input]);
  return await Deno.readFile(`${input}.out`);
}

Deno.test("hasPvhEntry", async (t) => {
  await t.step("a Xen PHYS32_ENTRY note is a PVH entry", () => {
    assert.equal(hasPvhEntry(elfWithNote("Xen", 18)), true);
  });
  await t.step("other notes are not", () => {
    assert.equal(hasPvhEntry(elfWithNote("Xen", 17)), false);
    assert.equal(hasPvhEntry(elfWithNote("GNU", 18)), false);
  });
  await t.step("neither is anything but an ELF64", () => {
    const elf32 = elfWithNote("Xen", 18);
    elf32[4] = 1;
    assert.equal(hasPvhEntry(elf32), false);
    assert.equal(hasPvhEntry(new Uint8Array(10)), false);
  });
});

Deno.test("bzImagePayload", async (t) => {
  const payload = new Uint8Array([1, 2, 3, 4, 5]);
  await t.step("found after the setup sectors", () => {
    assert.deepEqual(bzImagePayload(bzImage(payload)), payload);
    assert.deepEqual(bzImagePayload(bzImage(payload, { setupSects: 0 })), payload);
  });
  await t.step("none before boot protocol 2.08", () => {
    assert.equal(bzImagePayload(bzImage(payload, { protocol: 0x207 })), null);
  });
  await t.step("none in a file that is no bzImage, or too short for its header", () => {
    assert.equal(bzImagePayload(new Uint8Array(8192)), null);
    assert.equal(bzImagePayload(bzImage(payload).subarray(0, 3 * 512 + 0x100 + 2)), null);
  });
});

Deno.test("writeBootKernel", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "criu-matrix-boot-kernel-" });
  const pvh = elfWithNote("Xen", 18);
  const boot = async (image: Uint8Array) => {
    await Deno.writeFile(join(dir, "vmlinuz"), image);
    await writeBootKernel(join(dir, "vmlinuz"), join(dir, "kernel"), dir);
    return await Deno.readFile(join(dir, "kernel"));
  };

  await t.step("a gzip bzImage with a PVH kernel boots its ELF", async () => {
    assert.deepEqual(await boot(bzImage(await compress("gzip -9", pvh, dir))), pvh);
  });

  await t.step("an xz payload ends in the size the kernel build appends", async () => {
    const xz = await compress("xz --check=crc32", pvh, dir);
    const sized = new Uint8Array(xz.length + 4);
    sized.set(xz);
    new DataView(sized.buffer).setUint32(xz.length, pvh.length, true);
    assert.deepEqual(await boot(bzImage(sized)), pvh);
  });

  await t.step("without a PVH entry, or not a bzImage: the file as it is", async () => {
    const noPvh = bzImage(await compress("gzip -9", elfWithNote("Xen", 17), dir));
    assert.deepEqual(await boot(noPvh), noPvh);
    const arm64 = new TextEncoder().encode("MZ an arm64 Image");
    assert.deepEqual(await boot(arm64), arm64);
  });

  await t.step("nothing left behind but the kernel", async () => {
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.filter((name) => !name.startsWith("input")).sort(), ["kernel"]);
  });
  await Deno.remove(dir, { recursive: true });
});
