/**
 * The matrix itself needs no root: an ordinary user builds its own images (apt with a private
 * state fetches and unpacks packages; nothing is installed or run) and runs a small matrix. (Root
 * is only for installing packages.) Skipped, with the reason, when not run as root, since only
 * root can create the test user.
 */
import assert from "assert";
import { join } from "node:path";
import { readResults } from "../../harness/core/results.ts";
import { copyCheckout } from "../test_helpers.ts";

const USER = "criu-matrix-test";
const HOME = `/home/${USER}`;

async function run(
  command: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Deno.CommandOutput> {
  const [program, ...args] = command;
  return await new Deno.Command(program, { args, ...options, stdout: "piped", stderr: "piped" })
    .output();
}

/** Removes the test user and its home, also what an earlier run that failed left behind. */
async function removeUser(): Promise<void> {
  await run(["userdel", "--remove", USER]);
  await Deno.remove(HOME, { recursive: true }).catch(() => {});
}

/**
 * Runs `command` as the test user, by default from its home: the directory the test runs in may
 * be one the user cannot enter.
 */
async function runAsUser(command: string[], env: Record<string, string>, cwd = HOME) {
  return await run(
    ["setpriv", "--reuid", USER, "--regid", USER, "--init-groups", "--", ...command],
    { cwd, env: { HOME, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env } },
  );
}

Deno.test({
  name: "an ordinary user runs a matrix (root only installs packages)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await removeUser();
    assert.equal((await run(["useradd", "--create-home", "--shell", "/bin/sh", USER])).code, 0);
    try {
      // The user's own, empty cache: images are built without root.
      const cache = join(HOME, "cache");
      // Deno itself, where the user can run it (npx keeps it under root's home).
      const deno = join(HOME, "deno");
      await Deno.copyFile(Deno.execPath(), deno);
      const out = join(HOME, "out");
      // The user's own copy of the harness: the checkout may sit where only root can read.
      const repo = join(HOME, "criu-matrix");
      await copyCheckout(repo);
      assert.equal((await run(["chown", "-R", `${USER}:${USER}`, HOME])).code, 0);
      await Deno.chmod(deno, 0o755);
      const env = { CRIU_MATRIX_CACHE: cache, DENO_DIR: join(HOME, ".deno") };

      const result = await runAsUser([
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
      ], env);
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr.slice(-2000));
      const results = await readResults(join(out, "results.json"));
      assert.deepEqual(results.cells.map((c) => `${c.case}:${c.verdict}`).sort(), [
        "sigstop:pass",
        "sigtstp:pass",
      ]);
      const owner = (await Deno.stat(join(out, "results.json"))).uid;
      assert.notEqual(owner, 0);

      // Left in a directory it cannot enter (as setpriv leaves it in root's private checkout),
      // the harness says so instead of "program not found".
      const hidden = await Deno.makeTempDir({ prefix: "criu-matrix-private-" });
      try {
        const inside = join(hidden, "checkout");
        await Deno.mkdir(inside, { mode: 0o755 });
        const exec = join(repo, "harness/host/exec.ts");
        const refused = await runAsUser(
          [
            deno,
            "eval",
            `import { runCommand } from "file://${exec}"; await runCommand(["sh", "-c", "true"]);`,
          ],
          env,
          inside,
        );
        assert.match(
          new TextDecoder().decode(refused.stderr),
          new RegExp(`cannot start sh: the working directory ${inside} cannot be entered`),
        );
      } finally {
        await Deno.remove(hidden, { recursive: true });
      }
    } finally {
      await removeUser();
    }
  },
});
