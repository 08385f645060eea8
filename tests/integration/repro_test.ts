/**
 * `task repro` for real: a cell that fails (SIGTTIN with CRIU 4.1.1 on x86_64: compel refuses
 * the stop signal at dump) is written out as a repro directory, which is then run by hand, as a
 * CRIU developer would (sh run.sh, no criu-matrix), and must fail the same way: at the dump,
 * with the same CRIU error line.
 */
import assert from "assert";
import { join } from "node:path";
import { loadCases } from "../../harness/core/cases.ts";
import { cellKey } from "../../harness/core/results.ts";
import { defaultCacheDir } from "../../vm/image.ts";
import { runMatrix } from "../../harness/run/pipeline.ts";
import { main } from "../../harness/cli/main.ts";
import { REPO_ROOT, singleVmPlan } from "../test_helpers.ts";

/** A CRIU log line without its timestamp and with every number (pids) as N. */
function normalised(line: string): string {
  return line.replace(/^\(\d+\.\d+\) /, "").replaceAll(/\d+/g, "N");
}

Deno.test("a repro of a failing cell fails the same way when run by hand", async (t) => {
  const outDir = join(REPO_ROOT, "out/test-runs/repro");
  const reproDir = join(outDir, "repro-sigttin");
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  const cases = await loadCases();
  const started = performance.now();
  const outcome = await runMatrix(
    singleVmPlan(outDir, cases.filter((c) => c.name === "sigttin")),
    { cacheDir: defaultCacheDir(), timeoutScale: 0.5, cases, log: () => {} },
  );
  const runSeconds = (performance.now() - started) / 1000;
  const [cell] = outcome.results.cells;

  await t.step("the cell fails at dump: compel refuses SIGTTIN", () => {
    assert.equal(cell.verdict, "fail");
    assert.equal(cell.stage, "dump");
    assert.match(
      cell.dump!.error!,
      /^Error \(compel\/src\/lib\/infect\.c:\d+\): SEIZE \d+: unsupported stop signal 21$/,
    );
    const commands = cell.commands!.map((command) => command.command);
    assert.equal(commands[0], "criu check");
    assert.ok(commands.some((command) => /^kill -TTIN \d+$/.test(command)), commands.join("\n"));
    assert.match(
      commands.at(-1)!,
      /^criu dump -t \d+ -D \/run\/criu-matrix\/sigttin\/images -o dump\.log -v4$/,
    );
  });

  const reproStarted = performance.now();
  assert.equal(await main(["repro", outDir, "--cell", cellKey(cell), "--out", reproDir]), 0);
  const writeSeconds = (performance.now() - reproStarted) / 1000;

  await t.step("the directory holds what a CRIU developer needs", async () => {
    for (const file of ["README.txt", "run.sh", "vmlinuz", "guest/repro/run.sh", "guest/init"]) {
      assert.ok((await Deno.stat(join(reproDir, file))).isFile, file);
    }
    assert.ok((await Deno.stat(join(reproDir, "guest/opt/criu-matrix/stopfix"))).mode! & 0o100);
    const script = await Deno.readTextFile(join(reproDir, "guest/repro/run.sh"));
    assert.match(script, /^kill -TTIN \$\{target\}$/m);
    assert.match(script, /^timeout -s KILL 30 criu dump -t \$\{root\} /m);
  });

  await t.step("run by hand, it fails at dump with the same CRIU error line", async () => {
    const bootStarted = performance.now();
    const child = new Deno.Command("sh", {
      args: [join(reproDir, "run.sh")],
      cwd: "/",
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const { code, stdout } = await child.output();
    clearTimeout(timer);
    const bootSeconds = (performance.now() - bootStarted) / 1000;
    const output = new TextDecoder().decode(stdout);
    assert.equal(code, 0, output.slice(-3000));
    const lines = output.split(/\r?\n/);
    const dump = lines.findIndex((line) => line.startsWith("criu-matrix-repro: $ criu dump "));
    assert.ok(dump > 0, output.slice(-3000));
    assert.equal(lines[dump + 1], "criu-matrix-repro: exit 1");
    const firstError = lines.slice(dump).find((line) => /^\(\d+\.\d+\) Error \(/.test(line));
    assert.equal(normalised(firstError!), normalised(cell.dump!.error!));
    // The dump was the last command: nothing was restored.
    assert.ok(!lines.some((line) => line.startsWith("criu-matrix-repro: $ criu restore")));
    assert.ok(lines.includes("criu-matrix-repro: done: every recorded command ran"));
    console.log(
      `repro timings: run ${runSeconds.toFixed(1)} s, write ${writeSeconds.toFixed(1)} s, ` +
        `boot and replay by hand ${bootSeconds.toFixed(1)} s`,
    );
  });
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
});
