"use client";
import { type ReactNode, useEffect, useId, useRef } from "react";
import { Button } from "./button";
import { cx } from "./cx";

type DialogProps = {
  open: boolean;
  /** Called when the dialog closes by itself (Esc, the × button). */
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  /** While false (e.g. a request is pending), Esc and × do not close the dialog. */
  dismissable?: boolean;
  size?: "md" | "lg" | "xl";
  /** When set, Esc, × and a click outside the dialog call this instead of closing it, so the caller
   * can ask first (a secret that is shown only once). */
  onDismiss?: () => void;
  children: ReactNode;
};

/**
 * A modal on the native <dialog>: showModal() makes the rest of the page inert (focus stays
 * inside), Esc closes it, and focus returns to the opener. Content mounts only while open, so a
 * form inside starts fresh every time.
 */
export function Dialog({
  open,
  onClose,
  title,
  description,
  dismissable = true,
  size = "md",
  onDismiss,
  children,
}: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the backdrop click's keyboard twin is Esc (onCancel)
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onCancel={(e) => {
        if (!dismissable || onDismiss) e.preventDefault();
        if (dismissable) onDismiss?.();
      }}
      // Only a guarded dialog treats a click on its backdrop (the <dialog> element itself, outside
      // its content) as closing: elsewhere a stray click must not throw away a half-filled form.
      onClick={(e) => {
        if (onDismiss && dismissable && e.target === e.currentTarget) onDismiss();
      }}
      onClose={() => {
        if (open) onClose();
      }}
      className={cx(
        "m-auto w-[calc(100%-2rem)] rounded-xl bg-white p-0 text-slate-900 shadow-2xl ring-1 ring-slate-900/10",
        size === "xl" ? "max-w-3xl" : size === "lg" ? "max-w-2xl" : "max-w-lg",
      )}
    >
      {open && (
        <div className="flex max-h-[calc(100vh-4rem)] flex-col">
          <header className="flex items-start justify-between gap-4 border-b border-slate-200 px-5 py-4">
            <div>
              <h2 id={titleId} className="text-base font-semibold">
                {title}
              </h2>
              {description && (
                <p id={descId} className="mt-1 text-sm text-slate-600">
                  {description}
                </p>
              )}
            </div>
            <Button
              variant="ghost"
              size="sm"
              aria-label="Close"
              disabled={!dismissable}
              onClick={onDismiss ?? onClose}
              className="-mr-1.5 text-lg leading-none"
            >
              ×
            </Button>
          </header>
          <div className="overflow-y-auto px-5 py-4">{children}</div>
        </div>
      )}
    </dialog>
  );
}

/** Bottom row of buttons inside a dialog's body. */
export function DialogFooter({ children }: { children: ReactNode }) {
  // Sticky, so Cancel / Submit stay in view when a long form scrolls inside the dialog.
  return (
    <div className="sticky -bottom-4 -mx-5 -mb-4 mt-5 flex justify-end gap-2 border-t border-slate-100 bg-white px-5 py-4">
      {children}
    </div>
  );
}

type ConfirmProps = {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  pending?: boolean;
  tone?: "danger" | "primary";
  cancelLabel?: string;
};

/** "Are you sure?" with the object named in the message; the confirm button shows progress. */
export function ConfirmDialog({
  open,
  onClose,
  title,
  children,
  confirmLabel,
  onConfirm,
  pending = false,
  tone = "danger",
  cancelLabel = "Cancel",
}: ConfirmProps) {
  return (
    <Dialog open={open} onClose={onClose} title={title} dismissable={!pending}>
      <div className="text-sm text-slate-700">{children}</div>
      <DialogFooter>
        <Button onClick={onClose} disabled={pending}>
          {cancelLabel}
        </Button>
        <Button variant={tone} pending={pending} onClick={onConfirm}>
          {confirmLabel}
        </Button>
      </DialogFooter>
    </Dialog>
  );
}
