/**
 * The matrix itself needs no root: an ordinary user builds its own images (apt with a private
 * state fetches and unpacks packages; nothing is installed or run) and runs a small matrix. (Root
 * is only for installing packages.) Skipped, with the reason, when not run as root, since only
 * root can create the test user.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import { REPO_ROOT } from "../test_helpers.ts";

const USER = "criu-matrix-test";

async function run(command: string[], env?: Record<string, string>): Promise<Deno.CommandOutput> {
  const [program, ...args] = command;
  return await new Deno.Command(program, { args, env, stdout: "piped", stderr: "piped" }).output();
}

Deno.test({
  name: "an ordinary user runs a matrix (root only installs packages)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await run(["useradd", "--create-home", "--shell", "/bin/sh", USER]);
    const home = `/home/${USER}`;
    // The user's own, empty cache: images are built without root.
    const cache = join(home, "cache");
    // Deno itself, where the user can run it (npx keeps it under root's home).
    const deno = join(home, "deno");
    await Deno.copyFile(Deno.execPath(), deno);
    const out = join(home, "out");
    // The user's own copy of the harness: the checkout may sit where only root can read.
    const repo = join(home, "criu-matrix");
    await Deno.mkdir(repo);
    for (
      const entry of ["harness", "vm", "reports", "cases", "fixtures", "deno.json", "deno.lock"]
    ) {
      assert.equal((await run(["cp", "-a", join(REPO_ROOT, entry), repo])).code, 0, entry);
    }
    assert.equal((await run(["chown", "-R", `${USER}:${USER}`, home])).code, 0);
    await Deno.chmod(deno, 0o755);

    const result = await run([
      "setpriv",
      "--reuid",
      USER,
      "--regid",
      USER,
      "--init-groups",
      "--",
      deno,
      "run",
      "--allow-all",
      join(repo, "harness/cli/main.ts"),
      "matrix",
      "--criu",
      "4.1.1",
      "--arch",
      "x86_64",
      "--case",
      "sigstop,sigtstp",
      "--out",
      out,
    ], {
      HOME: home,
      CRIU_MATRIX_CACHE: cache,
      DENO_DIR: join(home, ".deno"),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    });
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr.slice(-2000));
    const results = await readResults(join(out, "results.json"));
    assert.deepEqual(results.cells.map((c) => `${c.case}:${c.verdict}`).sort(), [
      "sigstop:pass",
      "sigtstp:pass",
    ]);
    const owner = (await Deno.stat(join(out, "results.json"))).uid;
    assert.notEqual(owner, 0);
    await run(["userdel", "--remove", USER]);
  },
});
