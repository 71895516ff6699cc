"use client";
// The signed-in frame: sidebar navigation, header with the account menu.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useEffect } from "react";
import { AccountMenu } from "./account-menu";
import { SessionProvider } from "./session";
import { useTRPC } from "./trpc";
import { Button } from "./ui/button";
import { cx } from "./ui/cx";
import { Skeleton } from "./ui/misc";

// End users see the self-service area and their instances; the rest is for cloud admins.
const NAV = [
  {
    href: "/",
    label: "Overview",
    admin: false,
    icon: "M4 13h6V4H4zM14 20h6v-9h-6zM14 4v4h6V4zM4 20h6v-3H4z",
  },
  { href: "/vnets", label: "VNETs", admin: true, icon: "M4 6h16M4 12h16M4 18h10" },
  { href: "/self-service", label: "Self-service", admin: false, icon: "M12 4v16M4 12h16" },
  { href: "/instances", label: "Instances", admin: false, icon: "M4 5h16v6H4zM4 13h16v6H4z" },
  {
    href: "/topology",
    label: "Topology",
    admin: false,
    icon: "M12 4a2 2 0 100 4 2 2 0 000-4zM5 16a2 2 0 100 4 2 2 0 000-4zM19 16a2 2 0 100 4 2 2 0 000-4zM12 8v4M12 12l-6 4M12 12l6 4",
  },
  { href: "/templates", label: "Templates", admin: true, icon: "M5 4h14v5H5zM5 13h6v7H5zM14 13h5v7h-5z" },
  {
    href: "/security-groups",
    label: "Security groups",
    admin: false,
    icon: "M12 3l7 3v6c0 4.5-3 7.5-7 9-4-1.5-7-4.5-7-9V6zM9 12l2 2 4-4",
  },
  { href: "/nodes", label: "Nodes", admin: true, icon: "M12 3l8 4.5v9L12 21l-8-4.5v-9z" },
  { href: "/users", label: "Users", admin: true, icon: "M12 12a4 4 0 100-8 4 4 0 000 8zM4 20a8 8 0 0116 0" },
  {
    href: "/groups",
    label: "Groups",
    admin: true,
    icon: "M8 11a3 3 0 100-6 3 3 0 000 6zM16 11a3 3 0 100-6 3 3 0 000 6zM2 20a6 6 0 0112 0M12 20a6 6 0 0110 0",
  },
  { href: "/audit", label: "Audit log", admin: true, icon: "M6 3h9l4 4v14H6zM9 12h7M9 16h7M9 8h3" },
  { href: "/api-docs", label: "REST API", admin: false, icon: "M8 6l-6 6 6 6M16 6l6 6-6 6" },
] as const;

export function Shell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useQuery(trpc.user.me.queryOptions());

  useEffect(() => {
    if (me.data === null) router.replace("/login");
  }, [me.data, router]);

  if (!me.data) {
    return (
      <div className="flex h-screen items-center justify-center">
        {me.isError ? (
          <div className="text-center text-sm">
            <p className="text-red-700">Cannot reach the Bridgehead server: {me.error.message}</p>
            <Button className="mt-3" onClick={() => me.refetch()}>
              Try again
            </Button>
          </div>
        ) : (
          <Skeleton className="h-6 w-48" />
        )}
      </div>
    );
  }

  return (
    <SessionProvider user={me.data}>
      <div className="flex min-h-screen">
        <Sidebar admin={me.data.role === "admin"} />
        <div className="flex min-w-0 flex-1 flex-col">
          <Header name={me.data.name} username={me.data.username} role={me.data.role} />
          <main className="mx-auto w-full max-w-7xl flex-1 px-8 py-7">{children}</main>
        </div>
      </div>
    </SessionProvider>
  );
}

function Sidebar({ admin }: { admin: boolean }) {
  const pathname = usePathname();
  const router = useRouter();
  return (
    // The aside stretches with the page (its colour reaches the bottom); its content stays in view.
    <aside className="w-56 shrink-0 bg-slate-900 text-slate-300">
      <div className="sticky top-0 flex h-screen flex-col">
        <Link href="/" className="flex items-center gap-2 px-5 py-5 text-white">
          <span
            aria-hidden
            className="grid size-7 place-items-center rounded-md bg-sky-600 text-sm font-bold"
          >
            B
          </span>
          <span className="text-base font-semibold tracking-tight">Bridgehead</span>
        </Link>
        <nav aria-label="Main" className="flex flex-col gap-0.5 px-3">
          {NAV.filter((n) => admin || !n.admin).map((n) => {
            const active = pathname === n.href || (n.href !== "/" && pathname.startsWith(`${n.href}/`));
            return (
              // Prefetch on intent (hover, focus), not every route as soon as the sidebar is on
              // screen: the first load of a page then costs only that page's JavaScript.
              <Link
                key={n.href}
                href={n.href}
                prefetch={false}
                onMouseEnter={() => router.prefetch(n.href)}
                onFocus={() => router.prefetch(n.href)}
                aria-current={active ? "page" : undefined}
                className={cx(
                  "flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium",
                  active ? "bg-slate-800 text-white" : "hover:bg-slate-800/60 hover:text-white",
                )}
              >
                <svg
                  aria-hidden
                  viewBox="0 0 24 24"
                  className="size-4"
                  fill="none"
                  stroke="currentColor"
                  strokeWidth="1.8"
                >
                  <path d={n.icon} strokeLinejoin="round" strokeLinecap="round" />
                </svg>
                {n.label}
              </Link>
            );
          })}
        </nav>
      </div>
    </aside>
  );
}

function Header(props: { name: string; username: string; role: string }) {
  return (
    <header className="flex h-14 shrink-0 items-center justify-end gap-4 border-b border-slate-200 bg-white px-8">
      <AccountMenu {...props} />
    </header>
  );
}
