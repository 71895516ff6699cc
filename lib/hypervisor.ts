// How a hypervisor attaches a VM's NIC to a Bridgehead tap port: the QEMU arguments and the libvirt
// <interface> that create the tap under the name the node's agent waits for (lib/wire.ts
// tapDeviceName), with the MAC the NIC's lease (and so anti-spoofing and DHCP) expects. Pure: the
// portal shows these and the CLI can print them.

export interface TapNic {
  /** The interface index in the instance (eth<idx>), used to keep QEMU ids unique per VM. */
  idx: number;
  dev: string;
  mac: string;
}

/** `-netdev … -device …` for one NIC: QEMU creates the tap (no ifup scripts: the agent plugs it). */
export function qemuNicArgs(n: TapNic): string {
  const id = `bh${n.idx}`;
  return `-netdev tap,id=${id},ifname=${n.dev},script=no,downscript=no -device virtio-net-pci,netdev=${id},mac=${n.mac}`;
}

/** The libvirt domain's <interface>: type ethernet with a target name, so libvirt creates the tap
 * under that name and attaches it to nothing (the agent plugs it into the VNET). */
export function libvirtInterface(n: TapNic): string {
  return [
    `<interface type='ethernet'>`,
    `  <mac address='${n.mac}'/>`,
    `  <target dev='${n.dev}'/>`,
    `  <model type='virtio'/>`,
    `</interface>`,
  ].join("\n");
}
