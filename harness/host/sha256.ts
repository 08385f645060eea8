/**
 * SHA-256, the one hash of criu-matrix: cache keys, build manifests, plan ids and case hashes
 * all come from here, as lower-case hex.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * The SHA-256 of `data` (a string is hashed as UTF-8), as 64 hex digits.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./sha256.ts";
 * sha256Hex("abc").slice(0, 8); // "ba7816bf"
 * ```
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The SHA-256 of the file at `path`, read in chunks (root file systems are hundreds of MiB).
 *
 * @example
 * ```ts
 * import { sha256File } from "./sha256.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * (await sha256File(path)).slice(0, 8); // "ba7816bf"
 * await Deno.remove(path);
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
