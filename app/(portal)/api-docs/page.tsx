"use client";
import { ApiReference } from "@/components/api/api-reference";

export default function ApiDocsPage() {
  return <ApiReference />;
}
