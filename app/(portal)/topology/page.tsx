"use client";
import { TopologyView } from "@/components/topology/topology-view";
import { PageHeader } from "@/components/ui/misc";

export default function TopologyPage() {
  return (
    <>
      <PageHeader
        title="Topology"
        description="Nodes, the VNETs they host and the instances on them, coloured by each node's state. Click a VNET, node or instance to open it."
      />
      <TopologyView />
    </>
  );
}
