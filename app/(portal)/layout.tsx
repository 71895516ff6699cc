"use client";
import type { ReactNode } from "react";
import { Providers } from "@/components/providers";
import { Shell } from "@/components/shell";

// The query cache, tRPC client and toasts live here rather than in the root layout: the sign-in page
// does without them (app/login/page.tsx), and leaving the portal for /login drops the cache of the
// session that signed out.
export default function PortalLayout({ children }: { children: ReactNode }) {
  return (
    <Providers>
      <Shell>{children}</Shell>
    </Providers>
  );
}
