/**
 * The matrix itself needs no root: an ordinary user builds its own images (apt with a private
 * state fetches and unpacks packages; nothing is installed or run) and runs a small matrix. (Root
 * is only for installing packages.) Such a user also gets the `apt-get install` line for a missing
 * package, and a working directory it cannot enter named as such. The test user and its home are
 * removed before (an earlier run may have failed) and after, whatever happens. Skipped, with the
 * reason, when not run as root, since only root can create the test user.
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
  async fn(t) {
    await removeUser();
    assert.equal((await run(["useradd", "--create-home", "--shell", "/bin/sh", USER])).code, 0);
    try {
      // The user's own, empty cache: images are built without root.
      const cache = join(HOME, "cache");
      // Deno itself, where the user can run it (npx keeps it under root's home).
      const deno = join(HOME, "deno");
      await Deno.copyFile(Deno.execPath(), deno);
      const out = join(HOME, "out");
      // The user's own copy of the harness (the checkout may sit where only root can read), under
      // a path with spaces, as a user may choose.
      const repo = join(HOME, "my checkouts", "criu matrix");
      await copyCheckout(repo);
      assert.equal((await run(["chown", "-R", `${USER}:${USER}`, HOME])).code, 0);
      await Deno.chmod(deno, 0o755);
      const env = { CRIU_MATRIX_CACHE: cache, DENO_DIR: join(HOME, ".deno") };

      await t.step("a small matrix, images built in its own cache", async () => {
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
      });

      // A package that is missing cannot be installed by an ordinary user: the run stops with
      // the commands to run as root (an infrastructure error: exit 1).
      await t.step("a missing package: the apt-get line to run as root", async () => {
        const missing = await runAsUser([
          deno,
          "eval",
          "--config",
          join(repo, "deno.json"),
          `import { ensureHostTools } from "file://${join(repo, "harness/host/host_tools.ts")}";
           import { InfraError } from "file://${join(repo, "harness/core/errors.ts")}";
           const tool = { program: "criu-matrix-no-such-program", debianPackage: "no-such-package" };
           await ensureHostTools(["x86_64"], console.log, [tool]).catch((error) => {
             console.log(error instanceof InfraError, error.message);
           });`,
        ], env);
        assert.match(
          new TextDecoder().decode(missing.stdout) + new TextDecoder().decode(missing.stderr),
          /^true missing host packages for x86_64: no-such-package\. Install them as root, then run again:\n {2}sudo apt-get update -q\n {2}sudo apt-get install -y -q --no-install-recommends no-such-package\n$/,
        );
      });

      // Left in a directory it cannot enter (as setpriv leaves it in root's private checkout),
      // the matrix stops saying so (exit 2), not with "program not found".
      await t.step("an unenterable working directory, named as such", async () => {
        const hidden = await Deno.makeTempDir({ prefix: "criu-matrix-private-" });
        try {
          const inside = join(hidden, "checkout");
          await Deno.mkdir(inside, { mode: 0o755 });
          // A new --out: the first step's run is there, and would be refused first.
          const fresh = join(HOME, "out-unenterable");
          const refused = await runAsUser(
            [
              deno,
              "run",
              "--allow-all",
              join(repo, "harness/cli/main.ts"),
              "matrix",
              "--out",
              fresh,
            ],
            env,
            inside,
          );
          assert.equal(refused.code, 2);
          assert.match(
            new TextDecoder().decode(refused.stderr),
            new RegExp(
              `^criu-matrix: cannot start sh: the working directory ${inside} cannot be entered by this user; run from a directory it can use`,
            ),
          );
        } finally {
          await Deno.remove(hidden, { recursive: true });
        }
      });
    } finally {
      await removeUser();
    }
  },
});
