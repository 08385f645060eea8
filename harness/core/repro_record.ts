/**
 * What a cell records for `task repro`, read back from a results file: the commands the agent
 * ran ({@link RecordedCommand}) and what the guest booted ({@link BootRecord}). Results files
 * are untrusted: shapes are checked and counts capped.
 *
 * @module
 */
import {
  childField,
  readArray,
  readNullable,
  readNumber,
  readRecord,
  readString,
  ShapeError,
} from "./json_shape.ts";
import { MAX_CELL_COMMANDS } from "./observations.ts";
import type { BootRecord, RecordedCommand } from "./types.ts";

/** Most words of a QEMU command line and files of an overlay a results file may name. */
const MAX_BOOT_ITEMS = 200;

/**
 * Reads a cell's `commands`.
 *
 * @example
 * ```ts
 * import { readRecordedCommands } from "./repro_record.ts";
 * readRecordedCommands([{ out: null, limit: null, command: "snapshot before" }], "commands");
 * // [{ out: null, limit: null, command: "snapshot before" }]
 * ```
 */
export function readRecordedCommands(value: unknown, field: string): RecordedCommand[] {
  const commands = readArray(value, field, (item, itemField): RecordedCommand => {
    const record = readRecord(item, itemField);
    const at = (key: string) => childField(itemField, key);
    return {
      out: readNullable(record.out, at("out"), readString),
      limit: readNullable(
        record.limit,
        at("limit"),
        (limit, limitField) => readNumber(limit, limitField, { integer: true, min: 0 }),
      ),
      command: readString(record.command, at("command"), { nonEmpty: true }),
    };
  });
  return commands.slice(0, MAX_CELL_COMMANDS);
}

/**
 * Reads a cell's `boot`.
 *
 * @example
 * ```ts
 * import { readBootRecord } from "./repro_record.ts";
 * const boot = { qemu: ["qemu-system-x86_64"], kernel: "/k", initrdParts: ["/r"], files: {} };
 * readBootRecord(boot, "boot").kernel; // "/k"
 * ```
 */
export function readBootRecord(value: unknown, field: string): BootRecord {
  const record = readRecord(value, field);
  const at = (key: string) => childField(field, key);
  const files = Object.entries(readRecord(record.files, at("files")));
  const few = <T>(items: T[], itemsField: string): T[] => {
    if (items.length > MAX_BOOT_ITEMS) {
      throw new ShapeError(itemsField, items.length, `at most ${MAX_BOOT_ITEMS} items`);
    }
    return items;
  };
  return {
    qemu: few(readArray(record.qemu, at("qemu"), readString), at("qemu")),
    kernel: readString(record.kernel, at("kernel"), { nonEmpty: true }),
    initrdParts: few(
      readArray(record.initrdParts, at("initrdParts"), readString),
      at("initrdParts"),
    ),
    files: Object.fromEntries(
      few(files, at("files")).map((
        [guestPath, hostPath],
      ) => [guestPath, readString(hostPath, childField(at("files"), guestPath))]),
    ),
  };
}
