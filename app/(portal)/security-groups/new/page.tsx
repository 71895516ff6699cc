"use client";
import { SgEditor } from "@/components/sg/sg-editor";

export default function NewSecurityGroupPage() {
  return <SgEditor sg={null} />;
}
