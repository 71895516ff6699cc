// Personal API tokens. Every procedure needs the session itself (not a token): see sessionProcedure.

import { TRPCError } from "@trpc/server";
import { tokenCreateInput, tokenIdInput } from "../../lib/api-tokens";
import { createToken, listAllTokens, listMyTokens, revokeToken } from "../services/api-tokens";
import { actorOf, router, sessionProcedure } from "../trpc";

export const tokenRouter = router({
  /** The caller's own tokens (never their secrets). */
  list: sessionProcedure.query(({ ctx }) => listMyTokens(ctx.app, ctx.user)),
  /** Creates a token; the answer carries its secret, shown once. */
  create: sessionProcedure
    .input(tokenCreateInput)
    .mutation(({ ctx, input }) => createToken(ctx.app, actorOf(ctx), ctx.user, input)),
  /** Revokes one of the caller's tokens (an admin: anyone's). */
  revoke: sessionProcedure
    .input(tokenIdInput)
    .mutation(({ ctx, input }) => revokeToken(ctx.app, actorOf(ctx), ctx.user, input.id)),
  /** Every user's tokens, for admins. */
  listAll: sessionProcedure.query(({ ctx }) => {
    if (ctx.user.role !== "admin")
      throw new TRPCError({ code: "FORBIDDEN", message: "This action needs the admin role" });
    return listAllTokens(ctx.app);
  }),
});
