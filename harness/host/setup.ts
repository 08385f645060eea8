/**
 * `deno run harness/host/setup.ts`: installs what the test suite needs on a fresh Debian machine
 * (everything a matrix needs, plus the browser and the XML validator the report tests use).
 * As root it installs with apt and says so; otherwise it prints the command to run.
 *
 * @module
 */
import { ensureHostTools, type HostTool } from "./host_tools.ts";
import { exitCodeOfError } from "../core/exit_codes.ts";
import { ARCHES } from "../core/types.ts";

/** What the tests use beyond a matrix run. */
export const TEST_TOOLS: readonly HostTool[] = [
  { program: "chromium", debianPackage: "chromium" },
  { program: "xmllint", debianPackage: "libxml2-utils" },
  { program: "git", debianPackage: "git" },
  { program: "patch", debianPackage: "patch" },
];

if (import.meta.main) {
  try {
    await ensureHostTools(
      ARCHES,
      (line) => console.error(`criu-matrix setup: ${line}`),
      TEST_TOOLS,
    );
  } catch (error) {
    console.error(`criu-matrix setup: ${error instanceof Error ? error.message : error}`);
    Deno.exit(exitCodeOfError(error));
  }
}
