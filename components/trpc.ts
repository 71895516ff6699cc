"use client";
import { TRPCClientError } from "@trpc/client";
// The tRPC hooks of the portal (TanStack Query integration) and helpers for its errors.
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { AppRouter } from "@/server/routers/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type ApiError = TRPCClientError<AppRouter>;

/** The error as a tRPC client error, or null for anything else. */
export function apiError(err: unknown): ApiError | null {
  return err instanceof TRPCClientError ? (err as ApiError) : null;
}

/** The tRPC error code of `err` ("NOT_FOUND", "UNAUTHORIZED", ...), if any. */
export function errorCode(err: unknown): string | undefined {
  return apiError(err)?.data?.code;
}

/** Field-level messages the server attached (paths like "name" or "nics.0.ip"). */
export function fieldErrors(err: unknown): Record<string, string[]> {
  const fe = apiError(err)?.data?.fieldErrors ?? {};
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(fe)) if (v?.length) out[k] = v;
  return out;
}

/** A message for a toast. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : "Something went wrong";
}
