"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useState } from "react";
import { authClient } from "@/components/auth-client";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/field";

/** Loopback names and addresses, where plain http never leaves the machine. */
const isLoopback = (host: string) =>
  host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host) || host === "[::1]";

/** The host, when this page came over plain http from another machine (the password would cross
 * the network in clear text), else null. Read after mount: the server does not know the URL. */
function usePlainHttpHost(): string | null {
  const [host, setHost] = useState<string | null>(null);
  useEffect(() => {
    const { protocol, hostname, host: withPort } = window.location;
    if (protocol === "http:" && !isLoopback(hostname)) setHost(withPort);
  }, []);
  return host;
}

// Everyone lands on the overview: the cloud for admins, their own networks for end users.
const homeOf = (_role: string) => "/";

export default function LoginPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const me = useQuery(trpc.user.me.queryOptions());
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const plainHttpHost = usePlainHttpHost();

  // Already signed in (or just signed in): go to the portal.
  useEffect(() => {
    if (me.data) router.replace(homeOf(me.data.role));
  }, [me.data, router]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError("Enter your user name and password");
      return;
    }
    setPending(true);
    setError(null);
    const { error: err } = await authClient.signIn.username({ username: username.trim(), password });
    if (err) {
      setPending(false);
      setError(
        err.status === 401 || err.code === "INVALID_USERNAME_OR_PASSWORD"
          ? "Wrong user name or password"
          : (err.message ?? `Sign-in failed (${err.status})`),
      );
      return;
    }
    // Drop anything cached for a previous session, then load the new user: admins land on the
    // VNETs, end users on their self-service page.
    queryClient.clear();
    const signedIn = await queryClient.fetchQuery(trpc.user.me.queryOptions());
    router.replace(homeOf(signedIn?.role ?? "user"));
  };

  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-100 px-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2">
          <span
            aria-hidden
            className="grid size-9 place-items-center rounded-lg bg-sky-600 font-bold text-white"
          >
            B
          </span>
          <span className="text-xl font-semibold tracking-tight">Bridgehead</span>
        </div>
        <form
          onSubmit={submit}
          noValidate
          aria-labelledby="login-title"
          className="flex flex-col gap-4 rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200"
        >
          <div>
            <h1 id="login-title" className="text-lg font-semibold">
              Sign in
            </h1>
            <p className="mt-1 text-sm text-slate-600">Use the account your cloud administrator gave you.</p>
          </div>
          {plainHttpHost && (
            <p
              role="status"
              data-testid="plain-http-warning"
              className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-300"
            >
              <strong className="font-semibold">Not encrypted.</strong> You reached {plainHttpHost} over plain
              http: your password and session cross the network readable by anyone on the path. Ask your
              administrator for an https:// address.
            </p>
          )}
          <TextField
            label="User name"
            name="username"
            autoComplete="username"
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          <TextField
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {error && (
            <p
              role="alert"
              className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-red-200"
            >
              {error}
            </p>
          )}
          <Button type="submit" variant="primary" pending={pending}>
            Sign in
          </Button>
        </form>
      </div>
    </main>
  );
}
