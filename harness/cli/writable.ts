import { InputError } from "../core/errors.ts";

/**
 * Fails early, with what to do, when `dir` cannot be written: outside what this process may
 * write (the `task matrix` permissions), or refused by the file system.
 */
export async function ensureWritable(dir: string, what: string): Promise<void> {
  const permission = await Deno.permissions.query({ name: "write", path: dir });
  if (permission.state !== "granted") {
    throw new InputError(
      `${what} ${dir}: outside the directories task matrix may write (the repository, /tmp, ` +
        `~/.cache/criu-matrix); choose one inside, or run harness/cli/main.ts with --allow-write=${dir}`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = await Deno.makeTempFile({ dir, prefix: ".write-test-" });
    await Deno.remove(probe);
  } catch (error) {
    throw new InputError(
      `${what} ${dir}: not writable (${(error as Error).message}); choose a directory you can ` +
        `write`,
    );
  }
}
