// The seed as real tools read it: the network-config the portal serves, handed to Debian's netplan
// the way cloud-init writes it (/etc/netplan/50-cloud-init.yaml under a top-level `network:`), must
// generate systemd-networkd files holding each NIC's leased addresses, gateway, DNS and MTU; the
// cidata ISO read back by xorriso holds the three files under the volume label cloud-init looks for.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommands } from "../../../tests/kernel";
import type { App } from "../../app";
import { fixtureUser, testApp } from "../../harness.testing";
import { buildCidataIso } from "./cidata-iso";
import { instanceSeed, seedFiles } from "./seed";

const ok = requireCommands("cloud-init seed tools", ["netplan", "xorriso"]);

describe.skipIf(!ok)("cloud-init seed read by netplan and xorriso", () => {
  let app: App;
  let dir: string;
  let inst: { id: number; nics: { mac: string | null; ip: string | null; ip6: string | null }[] };
  const admin = { id: "u-root", role: "admin" as const, groupIds: [0] };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-seed-tools-"));
    app = testApp();
    const root = fixtureUser(app, "root", "admin", [0]).caller;
    const a = await root.vnet.create({
      name: "front",
      subnet: "10.233.0.0/24",
      gateway: "10.233.0.1",
      dns: "10.233.0.1, 9.9.9.9",
      firstIp: "10.233.0.10",
      size: 10,
      mtu: 1450,
      globalPrefix: "2001:db8:233::/64",
    });
    await root.vnet.setContext({
      id: a.id,
      context: {
        gateway: "10.233.0.1",
        dns: "10.233.0.1 9.9.9.9",
        searchDomains: "front.example",
        gateway6: "2001:db8:233::1",
      },
    });
    const b = await root.vnet.create({
      name: "back",
      driver: "vxlan",
      vni: 6233,
      subnet: "10.234.0.0/24",
      gateway: "10.234.0.1",
      firstIp: "10.234.0.10",
      size: 10,
      mtu: 1500,
    });
    const nodeId = (await root.node.create({ name: "node1" })).id;
    inst = await root.instance.create({ name: "app", nodeId, nics: [{ vnetId: a.id }, { vnetId: b.id }] });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("netplan generate accepts the served network-config and writes networkd files with the leases, gateway, DNS and MTU", () => {
    const doc = instanceSeed(app, admin, inst.id).documents["network-config"];
    const rootDir = path.join(dir, "netplan");
    fs.mkdirSync(path.join(rootDir, "etc/netplan"), { recursive: true });
    const indented = doc
      .trimEnd()
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n");
    fs.writeFileSync(path.join(rootDir, "etc/netplan/50-cloud-init.yaml"), `network:\n${indented}\n`, {
      mode: 0o600,
    });
    execFileSync("netplan", ["generate", "--root-dir", rootDir], { stdio: "pipe" });
    const read = (f: string) => fs.readFileSync(path.join(rootDir, "run/systemd/network", f), "utf8");
    const [front, back] = inst.nics;

    const eth0 = read("10-netplan-eth0.network");
    expect(eth0).toContain(`PermanentMACAddress=${front!.mac}\nName=eth0`);
    expect(eth0).toContain(`Address=${front!.ip}/24`);
    expect(front!.ip6).toMatch(/^2001:db8:233:/);
    expect(eth0).toContain(`Address=${front!.ip6}/64`);
    expect(eth0).toContain("DNS=10.233.0.1\nDNS=9.9.9.9");
    expect(eth0).toContain("Domains=front.example");
    expect(eth0).toContain("[Route]\nDestination=0.0.0.0/0\nGateway=10.233.0.1");
    expect(eth0).toContain("[Route]\nDestination=::/0\nGateway=2001:db8:233::1");
    expect(eth0).toContain("MTUBytes=1450");
    expect(read("10-netplan-eth0.link")).toContain(`PermanentMACAddress=${front!.mac}\n\n[Link]\nName=eth0`);

    // The second NIC does not own the default route; its MTU leaves room for VXLAN's 50 bytes.
    const eth1 = read("10-netplan-eth1.network");
    expect(eth1).toContain(`PermanentMACAddress=${back!.mac}\nName=eth1`);
    expect(eth1).toContain(`Address=${back!.ip}/24`);
    expect(eth1).not.toContain("Gateway=");
    expect(eth1).toContain("MTUBytes=1450");
    expect(read("10-netplan-eth1.link")).toContain("Name=eth1");
  });

  it("the cidata ISO holds meta-data, user-data and network-config under the volume label cidata", async () => {
    const { files } = seedFiles(app, admin, inst.id);
    const iso = path.join(dir, "cidata.iso");
    fs.writeFileSync(iso, await buildCidataIso(files));
    const pvd = execFileSync("xorriso", ["-indev", iso, "-pvd_info"], { stdio: "pipe" }).toString();
    expect(pvd).toMatch(/^Volume Id\s*:\s*cidata$/m);
    const ls = execFileSync("xorriso", ["-indev", iso, "-ls", "/"], { stdio: "pipe" }).toString();
    expect(
      ls
        .split("\n")
        .map((l) => l.trim().replace(/^'|'$/g, ""))
        .filter(Boolean)
        .sort(),
    ).toEqual(["meta-data", "network-config", "user-data"]);
    const out = path.join(dir, "extracted");
    execFileSync("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/", out], { stdio: "pipe" });
    for (const [name, content] of Object.entries(files))
      expect(fs.readFileSync(path.join(out, name), "utf8")).toBe(content);
  });
});
