"use client";
// The one-time join token and the command that enrolls the node's agent with it.
import { useState } from "react";
import { formatDateTime, timeAgo } from "../format";
import { Button } from "../ui/button";
import { CopyButton } from "../ui/copy-button";
import { ConfirmDialog, DialogFooter } from "../ui/dialog";

export type JoinToken = { name: string; joinToken: string; expiresAt: Date };

/** Plain HTTP needs the agent's explicit --insecure (labs and tests): the credential crosses in clear. */
const insecureFlag = (origin: string) => (origin.startsWith("http:") ? " --insecure" : "");

/** The agent command for a node: run as root on the hypervisor itself. */
export function agentCommand(origin: string, token: string): string {
  return `npm run agent -- --server ${origin} --token ${token}${insecureFlag(origin)}`;
}

/** The same agent installed as a systemd service from the bundled file (npm run build:agent). */
export function installCommand(origin: string, token: string): string {
  return `node bridgehead-agent.mjs install --server ${origin} --token ${token}${insecureFlag(origin)}`;
}

/** A lab stands a node in for with a network namespace; agent namespaces must start with "bh". */
export function labNamespace(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 38);
  return `bh-${safe}`;
}

/** The token shown once, with Done: closing it (Done, Esc, ×, a click outside) before any of its
 * Copy buttons was used asks first, since the token cannot be shown again. Returns the handler the
 * surrounding Dialog passes as `onDismiss`, the panel, and the question, which goes beside that
 * Dialog, not inside it: React passes a nested <dialog>'s close event up to the outer one's onClose. */
export function useGuardedToken(token: JoinToken | null, onClose: () => void) {
  const [copiedFor, setCopiedFor] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const copied = token !== null && copiedFor === token.joinToken;
  const dismiss = () => (copied ? onClose() : setAsking(true));
  const body = token && (
    <>
      <JoinTokenPanel token={token} onCopied={() => setCopiedFor(token.joinToken)} />
      <DialogFooter>
        <Button variant="primary" onClick={dismiss}>
          Done
        </Button>
      </DialogFooter>
    </>
  );
  const confirm = token && (
    <ConfirmDialog
      open={asking}
      onClose={() => setAsking(false)}
      title="Close without copying the token?"
      cancelLabel="Keep it open"
      confirmLabel="Close without copying"
      onConfirm={() => {
        setAsking(false);
        onClose();
      }}
    >
      The join token of <strong>{token.name}</strong> is shown only once and none of it was copied. Once this
      closes, the node can only be enrolled with a new token from its row.
    </ConfirmDialog>
  );
  return { dismiss, body, confirm };
}

export function JoinTokenPanel({ token, onCopied }: { token: JoinToken; onCopied?: () => void }) {
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const command = agentCommand(origin, token.joinToken);
  const service = installCommand(origin, token.joinToken);
  // What follows the dot is the certificate's fingerprint (bhj_<secret>.<fingerprint>).
  const pin = token.joinToken.includes(".")
    ? token.joinToken.slice(token.joinToken.lastIndexOf(".") + 1)
    : null;
  return (
    <div className="flex flex-col gap-4 text-sm">
      <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-900 ring-1 ring-amber-200">
        This token is shown <strong>only once</strong>. Copy it now; if it is lost, issue a new one from the
        node&apos;s row.
      </p>
      <section aria-labelledby="join-token-label">
        <div className="mb-1 flex items-center justify-between">
          <span id="join-token-label" className="font-medium text-slate-700">
            Join token
          </span>
          <CopyButton text={token.joinToken} label="Copy join token" onCopied={onCopied} />
        </div>
        <code
          data-testid="join-token"
          className="block rounded-md bg-slate-100 px-3 py-2 font-mono text-[13px] break-all select-all"
        >
          {token.joinToken}
        </code>
      </section>
      <section aria-labelledby="agent-command-label">
        <div className="mb-1 flex items-center justify-between">
          <span id="agent-command-label" className="font-medium text-slate-700">
            Run on the node
          </span>
          <CopyButton text={command} label="Copy agent command" onCopied={onCopied} />
        </div>
        <code
          data-testid="agent-command"
          className="block rounded-md bg-slate-900 px-3 py-2 font-mono text-[13px] break-all text-slate-100 select-all"
        >
          {command}
        </code>
      </section>
      <section aria-labelledby="agent-install-label">
        <div className="mb-1 flex items-center justify-between">
          <span id="agent-install-label" className="font-medium text-slate-700">
            Or install it as a service
          </span>
          <CopyButton text={service} label="Copy install command" onCopied={onCopied} />
        </div>
        <code
          data-testid="agent-install-command"
          className="block rounded-md bg-slate-900 px-3 py-2 font-mono text-[13px] break-all text-slate-100 select-all"
        >
          {service}
        </code>
      </section>
      {pin ? (
        <p className="text-slate-600" data-testid="agent-pin-note">
          The token ends with the SHA-256 fingerprint of this portal&apos;s certificate,{" "}
          <code className="rounded bg-slate-100 px-1 font-mono text-[13px] break-all" data-testid="agent-pin">
            {pin}
          </code>
          : the agent accepts no other certificate, and sends nothing to a server that shows another one.
        </p>
      ) : (
        <p
          className="rounded-md bg-red-50 px-3 py-2 text-red-900 ring-1 ring-red-200"
          data-testid="agent-insecure-note"
        >
          This portal serves the agent channel without TLS, so the agent needs <code>--insecure</code>: its
          credential and the network state it applies cross the network unencrypted. Use it in labs only.
        </p>
      )}
      <p className="text-slate-600">
        In a lab, add{" "}
        <code className="rounded bg-slate-100 px-1 font-mono text-[13px]" data-testid="agent-lab-flag">
          --netns {labNamespace(token.name)}
        </code>{" "}
        to apply the node&apos;s network state inside that network namespace instead of the host.
      </p>
      <p className="text-slate-600">
        Expires <span data-testid="join-token-expiry">{formatDateTime(token.expiresAt)}</span> (
        {timeAgo(token.expiresAt)}). It can be used once; the agent then holds its own credential.
      </p>
    </div>
  );
}
