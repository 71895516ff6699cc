"use client";
// better-auth's browser client: username sign-in and sign-out (cookie session).
import { adminClient, usernameClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({ plugins: [usernameClient(), adminClient()] });
