"use client";
// For a NIC on a hypervisor port: the QEMU arguments and the libvirt <interface> that create its tap
// under the name the node's agent plugs (lib/hypervisor.ts), each with a Copy button.
import { libvirtInterface, qemuNicArgs, type TapNic } from "@/lib/hypervisor";
import { Snippet } from "../ui/snippet";

export function HypervisorLines({ nic, instanceName }: { nic: TapNic; instanceName: string }) {
  return (
    <div className="flex flex-col gap-3" data-testid={`hypervisor-lines-eth${nic.idx}`}>
      <Snippet
        label={`QEMU eth${nic.idx} of ${instanceName}`}
        text={qemuNicArgs(nic)}
        testId={`qemu-eth${nic.idx}`}
      />
      <Snippet
        label={`libvirt eth${nic.idx} of ${instanceName} (domain XML, inside <devices>)`}
        text={libvirtInterface(nic)}
        testId={`libvirt-eth${nic.idx}`}
      />
    </div>
  );
}
