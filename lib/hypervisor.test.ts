import { describe, expect, it } from "vitest";
import { libvirtInterface, qemuNicArgs } from "./hypervisor";
import { tapDeviceName } from "./wire";

describe("hypervisor lines for a tap NIC", () => {
  const nic = { idx: 1, dev: tapDeviceName(42), mac: "02:00:0a:01:00:0c" };
  it("QEMU creates the tap under the agent's name, without ifup scripts, with the lease's MAC", () => {
    expect(qemuNicArgs(nic)).toBe(
      "-netdev tap,id=bh1,ifname=bhvt42,script=no,downscript=no -device virtio-net-pci,netdev=bh1,mac=02:00:0a:01:00:0c",
    );
  });
  it("libvirt: an ethernet interface with the tap as its target and the lease's MAC", () => {
    expect(libvirtInterface(nic)).toBe(
      "<interface type='ethernet'>\n  <mac address='02:00:0a:01:00:0c'/>\n  <target dev='bhvt42'/>\n  <model type='virtio'/>\n</interface>",
    );
  });
});
