// A real VM for tests: Debian's cloud kernel and busybox under QEMU (TCG), with a network stack
// nobody here wrote. Packages are fetched with `apt-get download` into a cache (never installed),
// unpacked with `dpkg-deb -x`; the initramfs (busybox, the virtio modules in dependency order, an
// /init driven by bh.* kernel parameters) is packed with busybox cpio (newc, gzip) and cached by
// the hash of its content. The VM is booted inside a node namespace on a tap named by Bridgehead;
// its serial console is parsed for `BH:` markers (anywhere in a line: BIOS escape codes).
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { qemuNicArgs } from "../../lib/hypervisor";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** Where the .debs, their unpacked trees and the built initramfs live (not in git: data/). */
export const VM_CACHE = process.env.BRIDGEHEAD_VM_CACHE ?? path.join(ROOT, "data", "vm-cache");
/** The virtio modules the guest NIC needs; their dependencies are added from each .ko. */
const WANTED_MODULES = ["virtio_pci", "virtio_net"];

const sh = (cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}) =>
  execFileSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 1 << 30,
  });

/** Why a VM cannot run here, or null: root, qemu-system-x86_64, apt-get and dpkg-deb. */
export function vmUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not running as root (the VM's tap lives in a node namespace)";
  for (const [cmd, pkg] of [
    ["qemu-system-x86_64", "qemu-system-x86"],
    ["dpkg-deb", "dpkg"],
    ["apt-get", "apt"],
  ] as const) {
    try {
      sh("sh", ["-c", `command -v ${cmd}`]);
    } catch {
      return `${cmd} is missing (Debian package ${pkg}; scripts/ensure-deps.sh installs it)`;
    }
  }
  return null;
}

/** The kernel package linux-image-cloud-amd64 depends on (e.g. linux-image-6.1.0-57-cloud-amd64). */
function kernelPackage(): string {
  const out = sh("apt-cache", ["depends", "linux-image-cloud-amd64"]).toString();
  const m = /Depends:\s*(linux-image-\S+)/.exec(out);
  if (!m) throw new Error(`apt-cache depends linux-image-cloud-amd64 names no kernel:\n${out}`);
  return m[1] as string;
}

/** The .deb of `pkg` in the cache, downloaded once. */
function deb(pkg: string): string {
  fs.mkdirSync(VM_CACHE, { recursive: true });
  const find = () => fs.readdirSync(VM_CACHE).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
  let file = find();
  if (!file) {
    sh("apt-get", ["download", "-qq", pkg], { cwd: VM_CACHE });
    file = find();
  }
  if (!file) throw new Error(`apt-get download ${pkg} left no .deb in ${VM_CACHE}`);
  return path.join(VM_CACHE, file);
}

/** The unpacked tree of a .deb (dpkg-deb -x), once per .deb. */
function unpack(debFile: string): string {
  const dir = debFile.replace(/\.deb$/, "");
  if (!fs.existsSync(path.join(dir, ".done"))) {
    fs.rmSync(dir, { recursive: true, force: true });
    sh("dpkg-deb", ["-x", debFile, dir]);
    fs.writeFileSync(path.join(dir, ".done"), "");
  }
  return dir;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The `depends=` of a kernel module, read from the .ko (what `strings | grep depends=` shows). */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf("depends=");
  if (at < 0) return [];
  const end = ko.indexOf(0, at);
  const list = ko.subarray(at + "depends=".length, end).toString();
  return list ? list.split(",").map((m) => m.replace(/-/g, "_")) : [];
}

/** `wanted` and everything they depend on, each after its dependencies. */
export function moduleOrder(wanted: string[], depsOf: (m: string) => string[]): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (m: string) => {
    if (order.includes(m)) return;
    if (visiting.has(m)) throw new Error(`module dependency cycle at ${m}`);
    visiting.add(m);
    for (const d of depsOf(m)) visit(d);
    visiting.delete(m);
    order.push(m);
  };
  for (const m of wanted) visit(m);
  return order;
}

const INIT = `#!/bin/busybox sh
# Bridgehead test VM: bh.ip= (CIDR), bh.gw=, bh.cmd= (base64 of a script) on the kernel command line.
/bin/busybox mkdir -p /proc /sys /dev /tmp /etc /bin /sbin /usr/bin /usr/sbin /var/run
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "BH:userspace"
for m in $(cat /modules.order); do insmod /lib/modules/$m.ko || echo "BH:insmod-failed=$m"; done
for a in $(cat /proc/cmdline); do
  case "$a" in
    bh.ip=*) BH_IP="\${a#bh.ip=}" ;;
    bh.gw=*) BH_GW="\${a#bh.gw=}" ;;
    bh.cmd=*) BH_CMD="\${a#bh.cmd=}" ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
ip link set lo up
ip link set eth0 up && echo "BH:eth0-up mac=$(cat /sys/class/net/eth0/address)"
[ -n "$BH_IP" ] && ip addr add "$BH_IP" dev eth0
[ -n "$BH_GW" ] && ip route add default via "$BH_GW"
[ -n "$BH_CMD" ] && echo "$BH_CMD" | base64 -d > /cmd.sh && sh /cmd.sh
echo "BH:done"
poweroff -f
`;

/** udhcpc's hook (busybox runs it on bound/renew): configures eth0 and prints what it got. */
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew)
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; done
    : > /etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "BH:lease ip=$ip mask=$mask router=$router dns=$dns domain=$domain mtu=$mtu"
    ;;
esac
`;

/** A cpio (newc) entry list: [path inside the archive, mode, content or symlink target]. */
type Entry = { name: string; mode: number; data?: Buffer; dir?: boolean };

export interface VmImage {
  kernel: string;
  initrd: string;
  kernelPackage: string;
  modules: string[];
}

/** Fetches, unpacks and builds what a VM boots from (cached; the first run downloads ~60 MB). */
export function ensureVmImage(): VmImage {
  const kpkg = kernelPackage();
  const kroot = unpack(deb(kpkg));
  const broot = unpack(deb("busybox-static"));
  const kernel = walk(path.join(kroot, "boot")).find((f) => path.basename(f).startsWith("vmlinuz-"));
  if (!kernel) throw new Error(`${kpkg} has no /boot/vmlinuz-*`);
  const kos = new Map(
    walk(path.join(kroot, "lib", "modules"))
      .filter((f) => f.endsWith(".ko"))
      .map((f) => [path.basename(f, ".ko").replace(/-/g, "_"), f]),
  );
  const depsOf = (m: string) => {
    const f = kos.get(m);
    if (!f) throw new Error(`module ${m} is not in ${kpkg}`);
    return moduleDepends(fs.readFileSync(f));
  };
  const modules = moduleOrder(WANTED_MODULES, depsOf);
  const busybox = fs.readFileSync(path.join(broot, "bin", "busybox"));
  const entries: Entry[] = [
    ...["bin", "etc", "etc/udhcpc", "lib", "lib/modules"].map((name) => ({ name, mode: 0o755, dir: true })),
    { name: "bin/busybox", mode: 0o755, data: busybox },
    { name: "init", mode: 0o755, data: Buffer.from(INIT) },
    { name: "etc/udhcpc/default.script", mode: 0o755, data: Buffer.from(UDHCPC_SCRIPT) },
    { name: "modules.order", mode: 0o644, data: Buffer.from(`${modules.join("\n")}\n`) },
    ...modules.map((m) => ({
      name: `lib/modules/${m}.ko`,
      mode: 0o644,
      data: fs.readFileSync(kos.get(m) as string),
    })),
  ];
  const hash = createHash("sha256");
  for (const e of entries) hash.update(`${e.name}\0${e.mode}\0`).update(e.data ?? "");
  const initrd = path.join(VM_CACHE, `initrd-${hash.digest("hex").slice(0, 16)}.cpio.gz`);
  if (!fs.existsSync(initrd)) {
    const stage = fs.mkdtempSync(path.join(VM_CACHE, "stage-"));
    try {
      for (const e of entries) {
        const p = path.join(stage, e.name);
        if (e.dir) fs.mkdirSync(p, { recursive: true });
        else fs.writeFileSync(p, e.data ?? "", { mode: e.mode });
      }
      // busybox cpio reads the file list on stdin, like cpio -o (the host has no cpio).
      const list = Buffer.from(`${entries.map((e) => e.name).join("\n")}\n`);
      const cpio = sh(path.join(broot, "bin", "busybox"), ["cpio", "-o", "-H", "newc"], {
        cwd: stage,
        input: list,
      });
      fs.writeFileSync(`${initrd}.tmp`, gzipSync(cpio));
      fs.renameSync(`${initrd}.tmp`, initrd);
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  }
  return { kernel, initrd, kernelPackage: kpkg, modules };
}

export interface VmRun {
  /** `BH:` markers in the order printed (the text after `BH:`). */
  markers: string[];
  /** The whole serial console. */
  console: string;
  /** ms from start to the `BH:userspace` marker, and to QEMU's exit. */
  userspaceMs?: number;
  totalMs: number;
  exitCode: number | null;
}

export interface VmOptions {
  image: VmImage;
  /** Node namespace the taps live in (QEMU runs there: `ip netns exec`). */
  netns: string;
  /** The NICs, eth0 first: the tap device name Bridgehead gave each, and its MAC. */
  nics: { tap: string; mac: string }[];
  /** Static address (CIDR) and gateway; absent: none. */
  ip?: string;
  gw?: string;
  /** A shell script run in the guest after the network is up; print `BH:` markers from it. */
  script?: string;
  timeoutMs?: number;
  /** Called once QEMU has started (the tap exists from then on). */
  onStart?: () => void;
}

/** The QEMU command line of a VM on a Bridgehead tap port (what the UI shows, plus the test's boot). */
export function qemuArgs(o: VmOptions): string[] {
  const append = [
    "console=ttyS0",
    "panic=-1",
    // TCG on a loaded host is slow enough to fail the kernel's IO-APIC timer check (panic).
    "no_timer_check",
    "mitigations=off",
    "quiet",
    "loglevel=3",
    ...(o.ip ? [`bh.ip=${o.ip}`] : []),
    ...(o.gw ? [`bh.gw=${o.gw}`] : []),
    ...(o.script ? [`bh.cmd=${Buffer.from(o.script).toString("base64")}`] : []),
  ].join(" ");
  return [
    "-accel",
    "tcg",
    "-m",
    "256",
    "-no-reboot",
    "-nographic",
    "-nodefaults",
    "-serial",
    "stdio",
    "-kernel",
    o.image.kernel,
    "-initrd",
    o.image.initrd,
    "-append",
    append,
    // The very arguments the portal shows for a tap NIC (lib/hypervisor.ts), so the VM tests boot them.
    ...o.nics.flatMap((n, i) => qemuNicArgs({ idx: i, dev: n.tap, mac: n.mac }).split(" ")),
  ];
}

/** Boots a VM and waits for it to power off (or the timeout: then it is killed). */
export function bootVm(o: VmOptions): Promise<VmRun> {
  const t0 = performance.now();
  const child = spawn("ip", ["netns", "exec", o.netns, "qemu-system-x86_64", ...qemuArgs(o)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  o.onStart?.();
  let out = "";
  let userspaceMs: number | undefined;
  const onData = (b: Buffer) => {
    out += b.toString("utf8");
    if (userspaceMs === undefined && out.includes("BH:userspace")) userspaceMs = performance.now() - t0;
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 40_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a marker ends at the serial console's next escape sequence (ESC)
      const markers = [...out.matchAll(/BH:([^\r\n\x1b]*)/g)].map((m) => (m[1] as string).trim());
      resolve({ markers, console: out, userspaceMs, totalMs: performance.now() - t0, exitCode: code });
    });
  });
}
