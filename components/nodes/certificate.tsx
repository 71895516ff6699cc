"use client";
// The certificate agents pin, on the Nodes page: stage a new one (generated, uploaded, or a TLS
// proxy's new certificate), see which agents acknowledged its pin over their channel, then
// activate (confirmed; an explicit override while some have not) or discard it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { toast } from "sonner";
import { errorCode, errorMessage, fieldErrors, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { ConfirmDialog, Dialog, DialogFooter } from "../ui/dialog";
import { Field, Textarea } from "../ui/field";
import { Badge } from "../ui/misc";

type Kind = "generate" | "upload";

export function CertificatePanel() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const q = useQuery({ ...trpc.node.certificate.queryOptions(), refetchInterval: 2000 });
  const [staging, setStaging] = useState(false);
  const [confirm, setConfirm] = useState<"activate" | "discard" | null>(null);
  const [force, setForce] = useState(false);
  const [kind, setKind] = useState<Kind>("generate");
  const [form, setForm] = useState({ cert: "", key: "", proxy: "" });
  const refresh = () => qc.invalidateQueries(trpc.node.pathFilter());
  const stage = useMutation(
    trpc.node.stageCertificate.mutationOptions({
      onSuccess: () => {
        toast.success("New certificate staged: agents are being re-pinned");
        setStaging(false);
        return refresh();
      },
    }),
  );
  const done = (msg: string) => () => {
    toast.success(msg);
    setConfirm(null);
    setForce(false);
    return refresh();
  };
  const activate = useMutation(
    trpc.node.activateCertificate.mutationOptions({
      onSuccess: done("New certificate active"),
      onError: (err) => (errorCode(err) === "CONFLICT" ? undefined : toast.error(errorMessage(err))),
    }),
  );
  const discard = useMutation(
    trpc.node.discardCertificate.mutationOptions({
      onSuccess: done("Staged certificate discarded"),
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );

  if (q.isPending) return <p className="text-sm text-slate-500">Loading the channel certificate…</p>;
  if (q.isError) return <p className="text-sm text-red-700">Certificate unavailable: {q.error.message}</p>;
  const c = q.data;
  if (c.mode === "off" || !c.current)
    return (
      <p className="text-sm text-slate-600" data-testid="certificate">
        <Badge tone="red">no TLS</Badge> The agent channel is plain HTTP (<code>BRIDGEHEAD_TLS=off</code>{" "}
        without <code>BRIDGEHEAD_TLS_PIN</code>): agents need <code>--insecure</code>.
      </p>
    );
  const waiting = c.nodes.filter((n) => !n.acknowledged);
  const errors = stage.error ? fieldErrors(stage.error) : {};
  return (
    <div className="flex flex-col gap-2 text-sm" data-testid="certificate">
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone="green">TLS pinned</Badge>
        <span>
          Agents pin {c.mode === "proxy" ? "the TLS proxy's certificate" : "the portal's certificate"}{" "}
          <code className="text-xs" title={c.current.subject} data-testid="certificate-current">
            {c.current.hex}
          </code>
        </span>
        {!c.next && (
          <Button
            size="sm"
            onClick={() => {
              stage.reset();
              setStaging(true);
            }}
          >
            Change certificate…
          </Button>
        )}
      </div>
      {c.next && (
        <div className="rounded border border-amber-300 bg-amber-50 p-2" data-testid="certificate-next">
          <div>
            Staged: <code className="text-xs">{c.next.hex}</code>. Acknowledged by{" "}
            {c.nodes.length - waiting.length} of {c.nodes.length} agent(s)
            {waiting.length > 0 && (
              <>
                ; waiting for{" "}
                <strong data-testid="certificate-waiting">{waiting.map((n) => n.name).join(", ")}</strong>
              </>
            )}
            .
          </div>
          <div className="mt-2 flex gap-2">
            <Button
              size="sm"
              variant="primary"
              onClick={() => {
                activate.reset();
                setConfirm("activate");
              }}
            >
              Activate…
            </Button>
            <Button size="sm" onClick={() => setConfirm("discard")}>
              Discard…
            </Button>
          </div>
        </div>
      )}
      <Dialog
        open={staging}
        onClose={() => setStaging(false)}
        title="Change the channel certificate"
        size="lg"
      >
        <form
          className="flex flex-col gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            const k = c.mode === "proxy" ? "proxy" : kind;
            stage.mutate(
              k === "upload"
                ? { kind: k, cert: form.cert, key: form.key }
                : k === "proxy"
                  ? { kind: k, proxy: form.proxy }
                  : { kind: "generate" },
            );
          }}
        >
          <p className="text-sm text-slate-600">
            The new certificate is not served yet: every connected agent first stores its fingerprint beside
            the current one. Activate it once they all have.
          </p>
          {c.mode === "served" ? (
            <fieldset className="flex gap-4 text-sm">
              {(["generate", "upload"] as const).map((k) => (
                <label key={k} className="flex items-center gap-1">
                  <input type="radio" name="kind" checked={kind === k} onChange={() => setKind(k)} />
                  {k === "generate" ? "Generate a self-signed certificate" : "Upload a certificate and key"}
                </label>
              ))}
            </fieldset>
          ) : null}
          {c.mode === "served" && kind === "upload" && (
            <>
              <Field label="Certificate (PEM)" error={errors.cert?.[0]}>
                {(p) => (
                  <Textarea
                    {...p}
                    rows={5}
                    value={form.cert}
                    onChange={(e) => setForm({ ...form, cert: e.target.value })}
                  />
                )}
              </Field>
              <Field label="Private key (PEM)" error={errors.key?.[0]}>
                {(p) => (
                  <Textarea
                    {...p}
                    rows={5}
                    value={form.key}
                    onChange={(e) => setForm({ ...form, key: e.target.value })}
                  />
                )}
              </Field>
            </>
          )}
          {c.mode === "proxy" && (
            <Field
              label="The proxy's new certificate (PEM) or its SHA-256 fingerprint"
              error={errors.proxy?.[0]}
              hint="openssl x509 -noout -fingerprint -sha256 -in proxy.pem"
            >
              {(p) => (
                <Textarea
                  {...p}
                  rows={4}
                  value={form.proxy}
                  onChange={(e) => setForm({ ...form, proxy: e.target.value })}
                />
              )}
            </Field>
          )}
          {stage.error && Object.keys(errors).length === 0 && (
            <p className="text-sm text-red-700">{errorMessage(stage.error)}</p>
          )}
          <DialogFooter>
            <Button type="button" onClick={() => setStaging(false)}>
              Cancel
            </Button>
            <Button type="submit" variant="primary" pending={stage.isPending}>
              Stage
            </Button>
          </DialogFooter>
        </form>
      </Dialog>
      <ConfirmDialog
        open={confirm === "activate"}
        onClose={() => setConfirm(null)}
        title="Activate the new certificate?"
        confirmLabel={waiting.length > 0 ? "Activate anyway" : "Activate"}
        tone={waiting.length > 0 ? "danger" : "primary"}
        pending={activate.isPending}
        onConfirm={() => activate.mutate({ force: waiting.length > 0 && force })}
      >
        {c.mode === "served"
          ? "The portal serves the new certificate at once; agents reconnect and check it."
          : "Install it on the proxy first: agents then pin the proxy's new certificate only."}
        {waiting.length > 0 && (
          <div className="mt-2 text-red-700">
            <strong>{waiting.map((n) => n.name).join(", ")}</strong> have not acknowledged it: they will
            refuse the new certificate and need a new join token.
            <label className="mt-2 flex items-center gap-2 text-slate-800">
              <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} />
              Activate although they will be cut off
            </label>
          </div>
        )}
        {activate.error && <p className="mt-2 text-red-700">{errorMessage(activate.error)}</p>}
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "discard"}
        onClose={() => setConfirm(null)}
        title="Discard the staged certificate?"
        confirmLabel="Discard"
        pending={discard.isPending}
        onConfirm={() => discard.mutate()}
      >
        Agents are told to pin the current certificate only again.
      </ConfirmDialog>
    </div>
  );
}
