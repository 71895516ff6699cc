"use client";
// For a NIC on a hypervisor port: the QEMU arguments and the libvirt <interface> that create its tap
// under the name the node's agent plugs (lib/hypervisor.ts), each with a Copy button.
import { libvirtInterface, qemuNicArgs, type TapNic } from "@/lib/hypervisor";
import { CopyButton } from "../ui/copy-button";

export function HypervisorLines({ nic, instanceName }: { nic: TapNic; instanceName: string }) {
  const lines = [
    { id: "qemu", title: "QEMU", text: qemuNicArgs(nic) },
    { id: "libvirt", title: "libvirt (domain XML, inside <devices>)", text: libvirtInterface(nic) },
  ];
  return (
    <div className="flex flex-col gap-3" data-testid={`hypervisor-lines-eth${nic.idx}`}>
      {lines.map((l) => (
        <div key={l.id}>
          <div className="mb-1 flex items-center justify-between gap-3">
            <h3 className="text-xs font-medium text-slate-700">{l.title}</h3>
            <CopyButton text={l.text} label={`Copy the ${l.id} lines of eth${nic.idx} of ${instanceName}`} />
          </div>
          <pre
            data-testid={`${l.id}-eth${nic.idx}`}
            className="overflow-x-auto rounded-md bg-slate-900 px-3 py-2 font-mono text-xs whitespace-pre-wrap break-all text-slate-100"
          >
            {l.text}
          </pre>
        </div>
      ))}
    </div>
  );
}
