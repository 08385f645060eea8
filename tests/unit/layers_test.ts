/**
 * Folders are layers and imports point down (see docs/architecture.md): a file imports from its
 * own folder or a lower layer, never from a higher one, and no folder imports a folder that
 * imports it. Read from the sources themselves, so a new import that breaks the rule fails here.
 */
import assert from "assert";
import { dirname, join, normalize } from "node:path";
import { REPO_ROOT } from "../test_helpers.ts";

/**
 * Every folder of source, lowest layer first, with the folders it may import besides its own:
 * each may import any folder listed before it, except where `only` narrows that down.
 */
const LAYERS: readonly { folder: string; only?: readonly string[] }[] = [
  { folder: "harness/core", only: [] },
  { folder: "reports", only: ["harness/core"] },
  { folder: "harness/host", only: ["harness/core"] },
  { folder: "vm" },
  { folder: "harness/builds" },
  { folder: "harness/run" },
  { folder: "harness/bisect" },
  { folder: "harness/cli" },
  { folder: "bench" },
];

/** Static imports and re-exports (`from "..."`) and dynamic `import("...")` of a source. */
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm;

async function sourceFiles(folder: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(join(REPO_ROOT, folder))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** The layer a repository path belongs to: the longest listed folder holding it. */
function layerOf(path: string): string | undefined {
  return LAYERS.map((layer) => layer.folder)
    .filter((folder) => path === folder || path.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length)[0];
}

/** Every relative import of the sources: importing file, imported file, their folders. */
async function imports(): Promise<Import[]> {
  const found: Import[] = [];
  for (const top of ["harness", "vm", "reports", "bench"]) {
    for (const file of await sourceFiles(top)) {
      const text = await Deno.readTextFile(join(REPO_ROOT, file));
      // JSDoc examples import their own module: only code outside comments counts.
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "");
      for (const match of code.matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2];
        if (!specifier.startsWith(".")) continue;
        found.push({ from: file, to: normalize(join(dirname(file), specifier)) });
      }
    }
  }
  return found;
}

type Import = { from: string; to: string };

/** The imports that point up, sideways into a folder a layer may not use, or out of the layers. */
function upwardImports(found: readonly Import[]): string[] {
  const rank = (folder: string) => LAYERS.findIndex((layer) => layer.folder === folder);
  return found.filter(({ from, to }) => {
    const source = layerOf(from)!;
    const target = layerOf(to);
    if (target === undefined) return true;
    if (target === source) return false;
    const { only } = LAYERS[rank(source)];
    return only ? !only.includes(target) : rank(target) > rank(source);
  }).map(({ from, to }) => `${from} imports ${to} (${layerOf(to) ?? "no layer"})`);
}

/** The folders that import themselves through other folders (a folder importing its importer). */
function folderCycles(found: readonly Import[]): string[] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of found) {
    if (dirname(from) === dirname(to)) continue;
    edges.set(dirname(from), (edges.get(dirname(from)) ?? new Set()).add(dirname(to)));
  }
  const reaches = (start: string, goal: string, seen: Set<string>): boolean =>
    [...edges.get(start) ?? []].some((next) =>
      next === goal || (!seen.has(next) && reaches(next, goal, seen.add(next)))
    );
  return [...edges.keys()].filter((folder) => reaches(folder, folder, new Set()));
}

Deno.test("layers", async (t) => {
  const found = await imports();

  await t.step("every source folder is a listed layer", async () => {
    for (const top of ["harness", "vm", "reports", "bench"]) {
      for (const file of await sourceFiles(top)) {
        assert.ok(layerOf(file), `${file}: its folder is no layer; add it to LAYERS`);
      }
    }
  });

  await t.step("imports point down", () => {
    assert.ok(found.length > 100, `only ${found.length} imports found: the scan is broken`);
    assert.deepEqual(upwardImports(found), [], "a file imports from a higher layer");
  });

  await t.step("no folder imports a folder that imports it", () => {
    assert.deepEqual(folderCycles(found), []);
  });

  await t.step("the checks catch what they are for", () => {
    assert.deepEqual(
      upwardImports([
        { from: "harness/core/plan.ts", to: "harness/cli/options.ts" },
        { from: "reports/grid.ts", to: "vm/image.ts" },
        { from: "vm/image.ts", to: "harness/host/exec.ts" },
        { from: "harness/run/pipeline.ts", to: "tests/test_helpers.ts" },
      ]),
      [
        "harness/core/plan.ts imports harness/cli/options.ts (harness/cli)",
        "reports/grid.ts imports vm/image.ts (vm)",
        "harness/run/pipeline.ts imports tests/test_helpers.ts (no layer)",
      ],
    );
    assert.deepEqual(
      folderCycles([
        { from: "vm/a.ts", to: "vm/guest/b.ts" },
        { from: "vm/guest/b.ts", to: "vm/c.ts" },
      ]),
      ["vm", "vm/guest"],
    );
  });
});
