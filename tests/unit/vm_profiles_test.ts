import assert from "assert";
import { runParameters } from "../../harness/run/run_vm.ts";
import { imageKey } from "../../vm/image.ts";
import type { Arch, CaseDefinition } from "../../harness/core/types.ts";
import { type BootSpec, QEMU_PROFILES, qemuCommand } from "../../vm/profiles.ts";
import {
  DEBIAN_MIRROR,
  GUEST_MODULES,
  kernelPackageRecipe,
  kernelRecipe,
  type RootfsRecipe,
  rootfsRecipe,
} from "../../vm/recipes.ts";

const ARCHES: Arch[] = ["x86_64", "aarch64"];

function spec(arch: Arch, accel: "kvm" | "tcg", cpu = "max"): BootSpec {
  return {
    profile: QEMU_PROFILES[arch],
    accel,
    cpu,
    kernel: "/cache/kernel/vmlinuz",
    initrd: "/cache/initrd.cpio",
    agentPipe: "/tmp/cm/1",
    memoryMiB: 1536,
  };
}

/** The value following `flag` (every occurrence). */
function valuesOf(argv: string[], flag: string): string[] {
  return argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1]] : []));
}

Deno.test("qemuCommand", async (t) => {
  for (const arch of ARCHES) {
    for (const accel of ["kvm", "tcg"] as const) {
      await t.step(`${arch} ${accel}`, () => {
        const argv = qemuCommand(spec(arch, accel, arch === "x86_64" ? "qemu64" : "cortex-a57"));
        assert.equal(argv[0], `qemu-system-${arch}`);
        // No network at all: no default devices, and no NIC.
        assert.ok(argv.includes("-nodefaults"));
        assert.deepEqual(valuesOf(argv, "-nic"), ["none"]);
        assert.ok(!argv.some((a) => /^-(net|netdev)$/.test(a)), argv.join(" "));
        assert.ok(!argv.some((a) => /virtio-net|e1000|user,|hostfwd/.test(a)), argv.join(" "));
        // A panic ends QEMU instead of rebooting into the same case.
        assert.ok(argv.includes("-no-reboot"));
        assert.deepEqual(valuesOf(argv, "-display"), ["none"]);
        assert.deepEqual(valuesOf(argv, "-serial"), ["stdio"]);
        const append = valuesOf(argv, "-append");
        assert.equal(append.length, 1);
        const console = arch === "x86_64" ? "ttyS0" : "ttyAMA0";
        assert.ok(append[0].split(" ").includes(`console=${console}`), append[0]);
        assert.ok(append[0].split(" ").includes("panic=-1"), append[0]);
        assert.deepEqual(valuesOf(argv, "-kernel"), ["/cache/kernel/vmlinuz"]);
        assert.deepEqual(valuesOf(argv, "-initrd"), ["/cache/initrd.cpio"]);
        assert.deepEqual(valuesOf(argv, "-m"), ["1536"]);
        // KVM runs the host CPU; TCG the plan's model.
        assert.deepEqual(
          valuesOf(argv, "-cpu"),
          [accel === "kvm" ? "host" : arch === "x86_64" ? "qemu64" : "cortex-a57"],
        );
        assert.equal(valuesOf(argv, "-accel").length, 1);
        assert.match(valuesOf(argv, "-accel")[0], new RegExp(`^${accel}\\b`));
        assert.deepEqual(valuesOf(argv, "-M"), [arch === "x86_64" ? "pc" : "virt"]);
        // The agent's channel: a virtio-serial port with the name the guest's init looks for.
        const chardev = valuesOf(argv, "-chardev");
        assert.equal(chardev.length, 1);
        assert.equal(chardev[0], "pipe,id=agent,path=/tmp/cm/1");
        const devices = valuesOf(argv, "-device");
        assert.ok(devices.includes("virtio-serial-pci"), devices.join(" "));
        assert.ok(
          devices.includes("virtserialport,chardev=agent,name=criu-matrix.agent"),
          devices.join(" "),
        );
      });
    }
  }

  await t.step("the guest's init opens the same port name", async () => {
    const init = await Deno.readTextFile(new URL("../../vm/guest/init", import.meta.url));
    assert.ok(init.includes("criu-matrix.agent"), "vm/guest/init does not name the port");
  });

  await t.step("profile consoles", () => {
    assert.equal(QEMU_PROFILES.x86_64.console, "ttyS0");
    assert.equal(QEMU_PROFILES.aarch64.console, "ttyAMA0");
    // KVM can help a guest of the host's own arch, and only that one.
    assert.deepEqual(
      { x86_64: QEMU_PROFILES.x86_64.kvmCapable, aarch64: QEMU_PROFILES.aarch64.kvmCapable },
      { x86_64: Deno.build.arch === "x86_64", aarch64: Deno.build.arch === "aarch64" },
    );
  });
});

Deno.test("recipes", async (t) => {
  await t.step("experimental: sid plus experimental, preferring experimental", () => {
    const { apt } = rootfsRecipe("experimental", "x86_64");
    assert.deepEqual(apt.sources, [
      `deb ${DEBIAN_MIRROR} sid main`,
      `deb ${DEBIAN_MIRROR} experimental main`,
    ]);
    assert.deepEqual(apt.options, ["APT::Default-Release=experimental"]);
  });

  await t.step("other suites use their own archive only, with no preference", () => {
    for (const suite of ["bookworm", "trixie", "sid"] as const) {
      assert.deepEqual(rootfsRecipe(suite, "x86_64").apt, {
        sources: [`deb ${DEBIAN_MIRROR} ${suite} main`],
        options: [],
      });
    }
  });

  await t.step("a suite's kernel comes from that suite's archive alone", () => {
    for (const suite of ["bookworm", "bookworm-backports", "trixie", "sid"] as const) {
      const recipe = kernelRecipe(suite, "x86_64");
      assert.equal(recipe.name, suite);
      assert.deepEqual(recipe.sources, [`deb ${DEBIAN_MIRROR} ${suite} main`]);
    }
  });

  await t.step("a kernel package version is looked for in every suite, security included", () => {
    const recipe = kernelPackageRecipe("6.12.95-1~bpo12+1", "aarch64");
    assert.equal(recipe.name, "6.12.95-1~bpo12+1");
    assert.equal(recipe.package, "linux-image-cloud-arm64=6.12.95-1~bpo12+1");
    for (const suite of ["bookworm-backports", "trixie-security", "sid", "experimental"]) {
      assert.ok(recipe.sources.some((line) => line.endsWith(` ${suite} main`)), suite);
    }
  });

  await t.step("kernel package names per arch", () => {
    assert.equal(kernelRecipe("trixie", "x86_64").package, "linux-image-cloud-amd64");
    assert.equal(kernelRecipe("trixie", "aarch64").package, "linux-image-cloud-arm64");
    assert.deepEqual(kernelRecipe("sid", "aarch64").modules, GUEST_MODULES);
    assert.ok(GUEST_MODULES.includes("virtio_console"), "the agent's channel needs it");
  });

  await t.step("the rootfs has CRIU and the tools the init and agent use", () => {
    const { packages } = rootfsRecipe("bookworm", "aarch64");
    assert.ok(packages.includes("criu"));
    assert.ok(packages.includes("busybox-static"));
  });

  await t.step("the cache key changes with the recipe's packages, suite and arch", () => {
    const base = rootfsRecipe("trixie", "x86_64");
    const json = JSON.stringify(base);
    const changed: RootfsRecipe = { ...base, packages: [...base.packages, "strace"] };
    assert.notEqual(JSON.stringify(changed), json);
    const keys = new Set([
      imageKey(base),
      imageKey(changed),
      imageKey({ ...base, packages: base.packages.slice(1) }),
      imageKey(rootfsRecipe("sid", "x86_64")),
      imageKey(rootfsRecipe("trixie", "aarch64")),
      imageKey({ ...base, format: base.format + 1 }),
      imageKey(kernelRecipe("trixie", "x86_64")),
      imageKey(kernelPackageRecipe("6.12.117-1", "x86_64")),
    ]);
    assert.equal(keys.size, 8);
    // ...and only with them: building the same recipe twice hits the cache.
    assert.equal(imageKey(rootfsRecipe("trixie", "x86_64")), imageKey(base));
    assert.equal(JSON.stringify(rootfsRecipe("trixie", "x86_64")), json);
  });
});

/** The RUN keys vm/guest/agent accepts: the patterns of the `case "$assignment"` in run_case. */
async function agentRunKeys(): Promise<string[]> {
  const agent = await Deno.readTextFile(new URL("../../vm/guest/agent", import.meta.url));
  const block = agent.match(/case "\$assignment" in\s*\n([\s\S]*?)\)\s*eval/);
  assert.ok(block, 'no `case "$assignment" in ... ) eval` in vm/guest/agent');
  const patterns = block[1].replace(/\\\n/g, " ").split("|").map((p) => p.trim());
  return patterns.map((p) => {
    const key = p.match(/^([a-z_]+)=\*$/);
    assert.ok(key, `unexpected pattern in the agent's RUN parameters: ${p}`);
    return key[1];
  });
}

Deno.test("runParameters: exactly the keys the agent accepts", async (t) => {
  const agentKeys = await agentRunKeys();
  const ctrlZ: CaseDefinition = {
    name: "ctrl-z-shell-job",
    description: "",
    fixture: { threads: 4, handler: "reraise", pendingSignal: "SIGUSR2" },
    stop: { via: "pty", signal: "SIGTSTP" },
    dump: { leaveRunning: true, shellJob: true },
    decides: ["SIGTSTP"],
  };
  const running: CaseDefinition = {
    name: "running",
    description: "",
    fixture: { threads: 1, handler: "none", pendingSignal: null },
    stop: { via: "none", signal: null },
    dump: { leaveRunning: false, shellJob: false },
    decides: [],
  };

  await t.step("the same set of keys, each once", () => {
    for (const caseDef of [ctrlZ, running]) {
      const keys = runParameters(caseDef, { dump: 30, restore: 30 }).map((p) => p.split("=")[0]);
      assert.equal(new Set(keys).size, keys.length, keys.join(" "));
      assert.deepEqual([...keys].sort(), [...agentKeys].sort());
    }
  });

  await t.step("every parameter is one shell word of key=value", () => {
    for (const p of runParameters(ctrlZ, { dump: 30.4, restore: 29.6 })) {
      assert.match(p, /^[a-z_]+=[A-Za-z0-9_.,=-]*$/);
    }
  });

  await t.step("values in the agent's vocabulary", () => {
    const params = Object.fromEntries(
      runParameters(ctrlZ, { dump: 30.4, restore: 29.6 }).map((p) => p.split("=")),
    );
    assert.equal(params.threads, "4");
    assert.equal(params.handler, "reraise");
    assert.equal(params.pending, "SIGUSR2");
    assert.equal(params.stop, "SIGTSTP");
    assert.equal(params.via, "pty");
    assert.equal(params.leave, "yes");
    assert.equal(params.shell, "yes");
    // busybox timeout takes whole seconds.
    assert.equal(params.dump_timeout, "30");
    assert.equal(params.restore_timeout, "30");
    const none = Object.fromEntries(
      runParameters(running, { dump: 60, restore: 60 }).map((p) => p.split("=")),
    );
    assert.equal(none.pending, "none");
    assert.equal(none.stop, "none");
    assert.equal(none.via, "none");
    assert.equal(none.leave, "no");
    assert.equal(none.shell, "no");
  });

  await t.step("the agent's defaults cover every key it accepts", async () => {
    const agent = await Deno.readTextFile(new URL("../../vm/guest/agent", import.meta.url));
    const body = agent.slice(agent.indexOf("case_defaults() {"));
    for (const key of agentKeys) {
      assert.match(body, new RegExp(`\\b${key}=[^*\\s]`), `no default for ${key}`);
    }
  });
});
