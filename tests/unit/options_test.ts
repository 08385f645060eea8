import assert from "assert";
import { gzipSync } from "node:zlib";
import { resolveCustomKernels } from "../../harness/builds/custom_inputs.ts";
import { formatCaseList, MATRIX_USAGE, parseMatrixOptions } from "../../harness/cli/matrix.ts";
import { type MatrixOptions } from "../../harness/core/command_options.ts";
import { FIXTURE_CASES } from "./results_fixture.ts";
import { assertUsageError as assertThrowsUsageError } from "../test_helpers.ts";

const CASE_NAMES = ["sigstop", "sigtstp", "running"];
const NOW = new Date("2026-11-27T16:45:00.123Z");

function parse(...args: string[]): MatrixOptions {
  return parseMatrixOptions(args, { caseNames: CASE_NAMES, now: NOW, cores: 6 });
}

/** Asserts that parsing `args` throws a InputError whose message contains every fragment. */
function assertUsageError(args: string[], ...fragments: string[]) {
  assertThrowsUsageError(() => parse(...args), ...fragments);
}

Deno.test("parseMatrixOptions", async (t) => {
  await t.step("defaults to everything", () => {
    const options = parse();
    assert.deepEqual(options.arches, ["x86_64", "aarch64"]);
    assert.deepEqual(options.criu.map((c) => c.version), ["3.17.1", "4.1.1", "4.2.1", "4.3"]);
    assert.deepEqual(options.cases, CASE_NAMES);
    assert.deepEqual(options.kernels, ["native"]);
    assert.deepEqual(options.cpu, {
      x86_64: ["max"],
      aarch64: ["neoverse-n1", "max,pauth-impdef=on"],
    });
    assert.equal(options.jobs, 7);
    assert.equal(options.outDir, "out/20261127-164500");
    assert.equal(options.timeoutScale, 1);
    assert.equal(options.list, false);
    assert.equal(options.help, false);
  });

  await t.step("defaults --jobs to one more than the number of cores", () => {
    const options = parseMatrixOptions([], { caseNames: CASE_NAMES });
    assert.equal(options.jobs, navigator.hardwareConcurrency + 1);
  });

  await t.step("--arch takes a comma list, drops duplicates, keeps order", () => {
    assert.deepEqual(parse("--arch", "aarch64,x86_64,aarch64").arches, ["aarch64", "x86_64"]);
    assert.deepEqual(parse("--arch", "aarch64", "--arch", "x86_64").arches, [
      "aarch64",
      "x86_64",
    ]);
    assertUsageError(
      ["--arch", "arm64"],
      '--arch: unknown value "arm64"; accepted: x86_64, aarch64',
    );
    assertUsageError(["--arch", "x86_64,"], "--arch: empty value", "accepted: x86_64, aarch64");
  });

  await t.step("--criu takes versions or suites", () => {
    const criu = parse("--criu", "experimental,3.17.1,bookworm").criu;
    assert.deepEqual(criu.map((c) => [c.version, c.suite, c.packageVersion]), [
      ["4.3", "experimental", "4.3-1~exp2"],
      ["3.17.1", "bookworm", "3.17.1-2+deb12u2"],
    ]);
    assertUsageError(
      ["--criu", "3.18"],
      '--criu: unknown value "3.18"',
      "accepted: 3.17.1, bookworm, 4.1.1, trixie, 4.2.1, sid, 4.3, experimental",
    );
  });

  await t.step("--case is checked against the known cases", () => {
    assert.deepEqual(parse("--case", "running,sigstop").cases, ["running", "sigstop"]);
    assertUsageError(
      ["--case", "sigkill"],
      '--case: unknown value "sigkill"',
      "accepted: sigstop, sigtstp, running",
    );
  });

  await t.step("--kernel takes native or kernel suites", () => {
    assert.deepEqual(parse("--kernel", "bookworm-backports").kernels, [
      { kind: "suite", name: "bookworm-backports" },
    ]);
    assert.deepEqual(parse("--kernel", "native,sid").kernels, [
      "native",
      { kind: "suite", name: "sid" },
    ]);
    assertUsageError(
      ["--kernel", "experimental"],
      '--kernel: unknown value "experimental"',
      "accepted: native, bullseye, bookworm, bookworm-backports, trixie, sid",
    );
  });

  await t.step("--kernel takes Debian package versions and kernels you built", async () => {
    const dir = await Deno.makeTempDir();
    // Just enough of each boot header for the arch to be read from it.
    const bzImage = new Uint8Array(0x400);
    bzImage.set(new TextEncoder().encode("HdrS"), 0x202);
    await Deno.writeFile(`${dir}/bzImage`, bzImage);
    const armImage = new Uint8Array(0x400);
    armImage.set(new TextEncoder().encode("ARM\x64"), 0x38);
    await Deno.writeFile(`${dir}/Image.gz`, gzipSync(armImage));
    await Deno.writeTextFile(`${dir}/README`, "not a kernel");
    const args = [
      "--kernel",
      `native,6.12.95-1~bpo12+1,${dir}/bzImage+${dir},${dir}/Image.gz`,
    ];
    const custom = await resolveCustomKernels([args[1]]);
    assert.deepEqual(custom["6.12.95-1~bpo12+1"], {
      kind: "package",
      name: "6.12.95-1~bpo12+1",
      packageVersion: "6.12.95-1~bpo12+1",
    });
    const local = custom[`${dir}/bzImage+${dir}`];
    assert.ok(local.kind === "local");
    assert.equal(local.arch, "x86_64");
    assert.equal(local.image, `${dir}/bzImage`);
    assert.equal(local.modules, dir);
    assert.match(local.name, /^local-bzImage-[0-9a-f]{8}$/);
    const gzipped = custom[`${dir}/Image.gz`];
    assert.equal(gzipped.kind === "local" ? gzipped.arch : null, "aarch64");
    const options = parseMatrixOptions(args, {
      caseNames: CASE_NAMES,
      now: NOW,
      customKernels: custom,
    });
    assert.equal(options.kernels.length, 4);
    assert.throws(
      () =>
        parseMatrixOptions([...args, "--arch", "x86_64"], {
          caseNames: CASE_NAMES,
          customKernels: custom,
        }),
      /--kernel .*Image\.gz: an aarch64 kernel, but --arch is x86_64; add --arch aarch64/,
    );
    await assert.rejects(
      () => resolveCustomKernels([`${dir}/README`]),
      /README: not a kernel image criu-matrix can boot: expected an x86_64 bzImage/,
    );
    await assert.rejects(
      () => resolveCustomKernels([`${dir}/missing`]),
      /missing: cannot read it/,
    );
    await Deno.remove(dir, { recursive: true });
  });

  await t.step("--cpu sets one arch's models, repeatable, QEMU properties allowed", () => {
    assert.deepEqual(parse("--cpu", "aarch64=max,pauth-impdef=on").cpu, {
      x86_64: ["max"],
      aarch64: ["max,pauth-impdef=on"],
    });
    assert.deepEqual(parse("--cpu", "x86_64=EPYC", "--cpu", "aarch64=cortex-a72").cpu, {
      x86_64: ["EPYC"],
      aarch64: ["cortex-a72"],
    });
    assert.deepEqual(parse("--cpu", "aarch64=cortex-a72", "--cpu", "aarch64=max").cpu, {
      x86_64: ["max"],
      aarch64: ["cortex-a72", "max"],
    });
    assertUsageError(["--cpu", "max"], '--cpu: "max" is not ARCH=MODEL');
    assertUsageError(["--cpu", "arm64=max"], 'unknown arch "arm64"', "accepted: x86_64, aarch64");
    assertUsageError(
      ["--cpu", "aarch64=cortex-a9,sve=off"],
      'unknown aarch64 CPU model "cortex-a9"',
      "accepted: neoverse-n1, cortex-a72, cortex-a57, cortex-a53, max",
    );
    assertUsageError(
      ["--cpu", "aarch64=max", "--cpu", "aarch64=max"],
      "aarch64=max given twice",
    );
  });

  await t.step("--jobs takes a whole number from 1 to 64", () => {
    assert.equal(parse("--jobs", "3").jobs, 3);
    assert.equal(parse("--jobs", "64").jobs, 64);
    for (const bad of ["0", "-1", "x", "1.5", "", "65", "100000", "1e3", "99999999999"]) {
      assertUsageError(
        ["--jobs", bad],
        `--jobs: "${bad}" is not a whole number from 1 to 64`,
        "1, 2, … 64",
      );
    }
    assertUsageError(["--jobs", "2", "--jobs", "3"], "--jobs given twice");
  });

  await t.step("--out and --timeout-scale", () => {
    assert.equal(parse("--out", "out/mine").outDir, "out/mine");
    assertUsageError(["--out", " "], "--out: empty directory name");
    assert.equal(parse("--timeout-scale", "2.5").timeoutScale, 2.5);
    assert.equal(parse("--timeout-scale", "0.1").timeoutScale, 0.1);
    assert.equal(parse("--timeout-scale", "100").timeoutScale, 100);
    for (const bad of ["0", "-2", "abc", "Infinity", "0x10", "1e-10", "0.09", "100.5", "100000"]) {
      assertUsageError(
        ["--timeout-scale", bad],
        `"${bad}" is not a number from 0.1 to 100`,
        "a decimal from 0.1 to 100",
      );
    }
  });

  await t.step("--list and --help (-h) are flags", () => {
    assert.equal(parse("--list").list, true);
    assert.equal(parse("--help").help, true);
    assert.equal(parse("-h").help, true);
    assertUsageError(["--list=yes"], "--list takes no value");
  });

  await t.step("rejects unknown options, listing the accepted ones", () => {
    assertUsageError(
      ["--arches", "x86_64"],
      'unknown option "--arches"',
      "accepted: --arch, --criu, --case, --kernel, --cpu, --jobs, --out, --timeout-scale, --baseline, --shard, --build-flags, --criu-repo, --zdtm, --resume, --rerun-failed, --list, --help",
    );
    assertUsageError(["sigstop"], 'unexpected argument "sigstop"', "--arch");
  });

  await t.step("rejects an option without its value", () => {
    assertUsageError(["--arch"], "--arch needs a value");
    assertUsageError(["--arch", "--list"], "--arch needs a value", 'got the option "--list"');
  });
});

Deno.test("MATRIX_USAGE lists every option", () => {
  for (const option of ["--arch", "--criu", "--case", "--kernel", "--cpu", "--jobs", "--out"]) {
    assert.ok(MATRIX_USAGE.includes(option), option);
  }
  assert.ok(MATRIX_USAGE.includes("--timeout-scale F"));
});

Deno.test("formatCaseList shows cases, CRIU versions, arches, kernels and CPU models", () => {
  const text = formatCaseList(FIXTURE_CASES);
  for (
    const expected of [
      "sigstop  stopped by SIGSTOP",
      "3.17.1  bookworm      package 3.17.1-2+deb12u2",
      "4.3     experimental  package 4.3-1~exp2        native kernel: sid",
      "aarch64",
      "bookworm-backports  Linux 6.12",
      "neoverse-n1 (default)",
      "max (default), qemu64, Skylake-Client, EPYC",
    ]
  ) {
    assert.ok(text.includes(expected), `--list output lacks "${expected}":\n${text}`);
  }
});
