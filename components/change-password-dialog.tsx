"use client";
// "Change password" from the header: the current password is required, and every other session of
// the user ends (a stolen session elsewhere does not survive the change).
import { useState } from "react";
import { toast } from "sonner";
import { userCreateInput } from "@/lib/schemas";
import { authClient } from "./auth-client";
import { Button } from "./ui/button";
import { Dialog, DialogFooter } from "./ui/dialog";
import { FormError, TextField } from "./ui/field";

export function ChangePasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [touched, setTouched] = useState(false);
  const [pending, setPending] = useState(false);
  const [server, setServer] = useState<{ field: "current" | "form"; message: string } | null>(null);
  const check = userCreateInput.shape.password.safeParse(next);
  const nextError = touched && !check.success ? check.error.issues[0]?.message : undefined;
  const currentError =
    touched && !current
      ? "Enter your current password"
      : server?.field === "current"
        ? server.message
        : undefined;
  const close = () => {
    setCurrent("");
    setNext("");
    setTouched(false);
    setServer(null);
    onClose();
  };
  const submit = async () => {
    setTouched(true);
    if (!current || !check.success) return;
    setPending(true);
    setServer(null);
    const { error } = await authClient.changePassword({
      currentPassword: current,
      newPassword: next,
      revokeOtherSessions: true,
    });
    setPending(false);
    if (error) {
      if (error.code === "INVALID_PASSWORD")
        setServer({ field: "current", message: "The current password is wrong" });
      else
        setServer({
          field: "form",
          message: error.message ?? `Changing the password failed (${error.status})`,
        });
      return;
    }
    toast.success("Password changed; your other sessions were signed out");
    close();
  };
  return (
    <Dialog open={open} onClose={close} dismissable={!pending} title="Change your password">
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        className="flex flex-col gap-4"
      >
        <TextField
          label="Current password"
          type="password"
          autoFocus
          autoComplete="current-password"
          value={current}
          error={currentError}
          onChange={(e) => {
            setCurrent(e.target.value);
            if (server?.field === "current") setServer(null);
          }}
        />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters; your other sessions will be signed out"
          value={next}
          error={nextError}
          onChange={(e) => {
            setNext(e.target.value);
            setTouched(true);
          }}
        />
        <FormError message={server?.field === "form" ? server.message : undefined} />
        <DialogFooter>
          <Button onClick={close} disabled={pending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" pending={pending}>
            Change password
          </Button>
        </DialogFooter>
      </form>
    </Dialog>
  );
}
