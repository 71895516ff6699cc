"use client";
// The sign-in page is the first thing every user loads, often over a slow link: it talks to the
// auth endpoints with fetch alone and stays outside the portal's query cache, tRPC client and auth
// client (app/(portal)/layout.tsx mounts those), so e2e/bundle-size.spec.ts keeps it under 120 kB.
import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useState } from "react";
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
const HOME = "/";

/** better-auth's answer to a refused sign-in: `{ code, message }` with the HTTP status. */
async function signInError(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (res.status === 401 || body.code === "INVALID_USERNAME_OR_PASSWORD")
    return "Wrong user name or password";
  return body.message ?? `Sign-in failed (${res.status})`;
}

export default function LoginPage() {
  const router = useRouter();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const plainHttpHost = usePlainHttpHost();

  // Already signed in (or just signed in): go to the portal.
  useEffect(() => {
    let gone = false;
    fetch("/api/auth/get-session", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((session: { user?: unknown } | null) => {
        if (!gone && session?.user) router.replace(HOME);
      })
      // Not reachable or not signed in: the form below is the way in either way.
      .catch(() => undefined);
    return () => {
      gone = true;
    };
  }, [router]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError("Enter your user name and password");
      return;
    }
    setPending(true);
    setError(null);
    let res: Response;
    try {
      res = await fetch("/api/auth/sign-in/username", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: username.trim(), password }),
      });
    } catch {
      setPending(false);
      setError("The portal did not answer; check your connection and try again");
      return;
    }
    if (!res.ok) {
      setPending(false);
      setError(await signInError(res));
      return;
    }
    // The portal layout mounts a fresh query cache, so nothing of a previous session shows.
    router.replace(HOME);
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
