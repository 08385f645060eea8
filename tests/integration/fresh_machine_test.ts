/**
 * README command 1 on a brand-new machine, the first time: a new Debian root made with Debian's
 * own mmdebstrap (minbase plus Node.js/npm, git and CA certificates, nothing else: none of the host
 * packages, an empty cache), entered with chroot and /proc, /sys and /dev bound in. The command,
 * exactly as the README writes it, must install what is missing and run the default matrix with
 * no `error` cell, exit 0. Skipped when not run as root (chroot, mounts).
 */
import assert from "assert";
import { dirname, join } from "node:path";
import { readResults, RESULTS_FILE_NAME } from "../../harness/core/results.ts";
import { copyCheckout, REPO } from "../test_helpers.ts";

const SUITE = "bookworm";
const PROJECT = "/root/project";
/** Variables naming this machine's extra CAs, for npx and git in the root as on the host. */
const CA_VARIABLES = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
  "GIT_SSL_CAINFO",
  "REQUESTS_CA_BUNDLE",
];

async function must(command: string[]): Promise<string> {
  const [program, ...args] = command;
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${command.join(" ")}\n${text.slice(-3000)}`);
  return text;
}

/** The README's first command, as written in its "The two commands" block. */
async function readmeCommand1(): Promise<string> {
  const readme = await Deno.readTextFile(join(REPO, "README.md"));
  const line = readme.split("\n").find((l) => l.startsWith("npx ") && l.includes(" task matrix"));
  assert.ok(line, "README.md names no `npx ... task matrix` command");
  return line.replace(/\s+#.*$/, "");
}

/** Copies the host's npm configuration, resolver and CAs into `root`; the variables to pass. */
async function shareTrust(root: string): Promise<string[]> {
  for (const file of ["/etc/npmrc", "/etc/resolv.conf"]) {
    await Deno.copyFile(file, join(root, file)).catch(() => {});
  }
  const extraCas = "/usr/local/share/ca-certificates";
  if (await Deno.stat(extraCas).then(() => true, () => false)) {
    await must(["cp", "-r", `${extraCas}/.`, join(root, extraCas)]);
    await must(["chroot", root, "update-ca-certificates"]);
  }
  const pass: string[] = [];
  for (const name of CA_VARIABLES) {
    const path = Deno.env.get(name);
    if (!path) continue;
    if (!await Deno.stat(join(root, path)).then(() => true, () => false)) {
      await Deno.mkdir(join(root, dirname(path)), { recursive: true });
      await must(["cp", "-rL", path, join(root, path)]);
    }
    pass.push(`${name}=${path}`);
  }
  return pass;
}

Deno.test({
  name: "README command 1 works the first time on a brand-new Debian root",
  ignore: Deno.uid() !== 0,
  async fn() {
    const command = await readmeCommand1();
    const root = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "criu-matrix-fresh-" });
    const mounted: string[] = [];
    try {
      await must([
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        "--include=nodejs,npm,git,ca-certificates",
        SUITE,
        root,
      ]);
      const pass = await shareTrust(root);
      await copyCheckout(join(root, PROJECT));
      for (
        const [target, mount] of [
          ["proc", ["-t", "proc", "proc"]],
          ["sys", ["-t", "sysfs", "sys"]],
          ["dev", ["--bind", "/dev"]],
          ["dev/pts", ["--bind", "/dev/pts"]],
        ] as const
      ) {
        await must(["mount", ...mount, join(root, target)]);
        mounted.push(join(root, target));
      }

      const started = performance.now();
      const output = await new Deno.Command("chroot", {
        args: [
          root,
          ...["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8", ...pass],
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          ...["bash", "-c", `cd ${PROJECT} && ${command}`],
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const seconds = Math.round((performance.now() - started) / 1000);
      const stderr = new TextDecoder().decode(output.stderr);
      console.log(`${command}: exit ${output.code} after ${seconds} s in a new ${SUITE} root`);
      // It started from none of the host packages, and installed them itself.
      assert.match(stderr, /installing missing host packages: .*qemu-system-x86/);
      assert.equal(output.code, 0, stderr.slice(-3000));
      const runs = [];
      for await (const entry of Deno.readDir(join(root, PROJECT, "out"))) runs.push(entry.name);
      assert.equal(runs.length, 1, `one run directory expected, found ${runs}`);
      const results = await readResults(join(root, PROJECT, "out", runs[0], RESULTS_FILE_NAME));
      assert.equal(results.cells.length, 4 * 2 * 13);
      const errors = results.cells.filter((c) => c.verdict === "error");
      assert.deepEqual(
        errors.map((c) => `${c.criu.version}/${c.arch}/${c.case}: ${c.summary}`),
        [],
      );
    } finally {
      // Whatever failed: every mount is undone first, so that removing the root cannot reach
      // into the host's /dev (--one-file-system guards that too).
      for (const target of mounted.reverse()) {
        await new Deno.Command("umount", { args: ["--lazy", target] }).output();
      }
      await must(["rm", "-rf", "--one-file-system", root]);
    }
  },
});
