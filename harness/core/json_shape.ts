/**
 * Readers that check parsed JSON against the shape the code expects, one field at a time.
 * A wrong field throws a {@link ShapeError} naming the field path, the bad value and what
 * is accepted, so a caller only has to prefix the file name.
 *
 * @module
 */

/** A value in parsed JSON that does not have the expected shape. */
export class ShapeError extends Error {
  /**
   * @param field Path of the field, e.g. `stop.signal` or `cells[3].verdict`; "" for the top level.
   * @param value The value found there (`undefined` when the field is missing).
   * @param accepted What would have been accepted, for a reader.
   */
  constructor(readonly field: string, readonly value: unknown, readonly accepted: string) {
    super(
      `${field === "" ? "top-level value" : `field "${field}"`}: got ${
        describeValue(value)
      }; accepted: ${accepted}`,
    );
    this.name = "ShapeError";
  }
}

const MAX_SHOWN_VALUE_CHARS = 60;

/**
 * A short, readable rendering of a JSON value for an error message.
 *
 * @example
 * ```ts
 * import { describeValue } from "./json_shape.ts";
 * describeValue("SIGKILL"); // '"SIGKILL"'
 * describeValue(undefined); // "nothing (the field is missing)"
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  const text = JSON.stringify(value);
  return text.length > MAX_SHOWN_VALUE_CHARS ? `${text.slice(0, MAX_SHOWN_VALUE_CHARS)}…` : text;
}

/**
 * The path of a child field, in the notation error messages use.
 *
 * @example
 * ```ts
 * import { childField } from "./json_shape.ts";
 * childField("cells", 3); // "cells[3]"
 * childField("cells[3]", "verdict"); // "cells[3].verdict"
 * ```
 */
export function childField(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

/**
 * Reads a JSON object (not an array, not null).
 *
 * @example
 * ```ts
 * import { readRecord } from "./json_shape.ts";
 * readRecord({ a: 1 }, "").a; // 1
 * ```
 */
export function readRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ShapeError(field, value, "an object");
  }
  return value as Record<string, unknown>;
}

/**
 * Throws when an object has keys other than `known`, so a misspelt key is reported
 * instead of silently ignored.
 *
 * @example
 * ```ts
 * import { rejectUnknownKeys } from "./json_shape.ts";
 * rejectUnknownKeys({ name: "x" }, ["name", "description"], "");
 * ```
 */
export function rejectUnknownKeys(
  record: Record<string, unknown>,
  known: readonly string[],
  field: string,
): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new ShapeError(
        childField(field, key),
        record[key],
        `no such field here; known fields: ${known.join(", ")}`,
      );
    }
  }
}

/**
 * Reads a string; `nonEmpty` also refuses "" and whitespace-only strings.
 *
 * @example
 * ```ts
 * import { readString } from "./json_shape.ts";
 * readString("sigstop", "name", { nonEmpty: true }); // "sigstop"
 * ```
 */
export function readString(
  value: unknown,
  field: string,
  { nonEmpty = false }: { nonEmpty?: boolean } = {},
): string {
  if (typeof value !== "string" || (nonEmpty && value.trim() === "")) {
    throw new ShapeError(field, value, nonEmpty ? "a non-empty string" : "a string");
  }
  return value;
}

/**
 * Reads a boolean.
 *
 * @example
 * ```ts
 * import { readBoolean } from "./json_shape.ts";
 * readBoolean(false, "dump.shellJob"); // false
 * ```
 */
export function readBoolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new ShapeError(field, value, "true, false");
  return value;
}

/**
 * Reads a finite number, optionally an integer, optionally with a minimum.
 *
 * @example
 * ```ts
 * import { readNumber } from "./json_shape.ts";
 * readNumber(4, "fixture.threads", { integer: true, min: 1 }); // 4
 * ```
 */
export function readNumber(
  value: unknown,
  field: string,
  { integer = false, min }: { integer?: boolean; min?: number } = {},
): number {
  const ok = typeof value === "number" && Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) && (min === undefined || value >= min);
  if (!ok) {
    const kind = integer ? "an integer" : "a finite number";
    throw new ShapeError(field, value, min === undefined ? kind : `${kind} ≥ ${min}`);
  }
  return value as number;
}

/**
 * Reads one of a fixed set of JSON scalars.
 *
 * @example
 * ```ts
 * import { readOneOf } from "./json_shape.ts";
 * readOneOf("pass", "verdict", ["pass", "fail"] as const); // "pass"
 * ```
 */
export function readOneOf<const T extends string | number | boolean | null>(
  value: unknown,
  field: string,
  accepted: readonly T[],
): T {
  if (!accepted.includes(value as T)) {
    throw new ShapeError(field, value, accepted.map((item) => JSON.stringify(item)).join(", "));
  }
  return value as T;
}

/**
 * Reads null, or a value `read` accepts; the error then says null is accepted too.
 *
 * @example
 * ```ts
 * import { readNullable, readString } from "./json_shape.ts";
 * readNullable(null, "error", readString); // null
 * ```
 */
export function readNullable<T>(
  value: unknown,
  field: string,
  read: (value: unknown, field: string) => T,
): T | null {
  if (value === null) return null;
  try {
    return read(value, field);
  } catch (error) {
    if (error instanceof ShapeError && error.field === field) {
      throw new ShapeError(field, value, `${error.accepted}, or null`);
    }
    throw error;
  }
}

/**
 * Reads an array, each item with `readItem`.
 *
 * @example
 * ```ts
 * import { readArray, readString } from "./json_shape.ts";
 * readArray(["a", "b"], "names", readString); // ["a", "b"]
 * ```
 */
export function readArray<T>(
  value: unknown,
  field: string,
  readItem: (value: unknown, field: string) => T,
): T[] {
  if (!Array.isArray(value)) throw new ShapeError(field, value, "an array");
  return value.map((item, index) => readItem(item, childField(field, index)));
}
