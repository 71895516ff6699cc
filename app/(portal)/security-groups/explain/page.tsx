"use client";
import Link from "next/link";
import { SgExplainPath } from "@/components/sg/sg-explain-path";
import { PageHeader } from "@/components/ui/misc";

export default function ExplainPathPage() {
  return (
    <>
      <PageHeader
        title="Explain a connection"
        description="Which check lets a connection from one NIC to another through, or stops it — across both NICs' security groups, isolation between VNETs and anti-spoofing."
        back={
          <Link href="/security-groups" className="text-sky-800 hover:underline">
            ← All security groups
          </Link>
        }
      />
      <SgExplainPath />
    </>
  );
}
