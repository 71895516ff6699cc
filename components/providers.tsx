"use client";
// Query cache, tRPC client and toasts for the whole portal.
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { type ReactNode, useState } from "react";
import { Toaster } from "sonner";
import superjson from "superjson";
import type { AppRouter } from "@/server/routers/root";
import { errorCode, TRPCProvider } from "./trpc";

/** 4xx answers do not get better by asking again. */
const NO_RETRY = new Set(["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST", "CONFLICT"]);

/**
 * The key of a mutation that replaces the user's session (a password change ends every session and
 * opens a new one). Until its answer brings the new cookie, the old one is refused; a poll refused in
 * that window does not mean the user was signed out.
 */
export const SESSION_CHANGE = ["account", "session-change"] as const;

function makeQueryClient(): QueryClient {
  const qc: QueryClient = new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        retry: (count, err) => !NO_RETRY.has(errorCode(err) ?? "") && count < 2,
      },
    },
    // A session that expired mid-use: re-ask who we are; the shell then sends us to /login.
    queryCache: new QueryCache({ onError: (err) => reaskWhoWeAre(err) }),
    mutationCache: new MutationCache({ onError: (err) => reaskWhoWeAre(err) }),
  });
  const reaskWhoWeAre = (err: unknown) => {
    if (errorCode(err) !== "UNAUTHORIZED" || qc.isMutating({ mutationKey: SESSION_CHANGE }) > 0) return;
    void qc.invalidateQueries({ queryKey: [["user", "me"]] });
  };
  return qc;
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: "/api/trpc", transformer: superjson })],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
      <Toaster position="bottom-right" richColors closeButton />
    </QueryClientProvider>
  );
}
