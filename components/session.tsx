"use client";
import type { inferRouterOutputs } from "@trpc/server";
// The signed-in user, provided by the portal shell to every page under it.
import { createContext, type ReactNode, useContext } from "react";
import type { AppRouter } from "@/server/routers/root";
import { EmptyState } from "./ui/misc";

export type Me = NonNullable<inferRouterOutputs<AppRouter>["user"]["me"]>;

const SessionContext = createContext<Me | null>(null);

export function SessionProvider({ user, children }: { user: Me; children: ReactNode }) {
  return <SessionContext.Provider value={user}>{children}</SessionContext.Provider>;
}

/** The signed-in user (only valid under the portal shell). */
export function useMe(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error("useMe() used outside the signed-in shell");
  return me;
}

/** Renders children for admins, a short explanation for everybody else. */
export function AdminOnly({ children }: { children: ReactNode }) {
  const me = useMe();
  if (me.role !== "admin")
    return (
      <EmptyState title="Admins only">
        This page needs the admin role. Ask a cloud administrator if you need access.
      </EmptyState>
    );
  return <>{children}</>;
}
