"use client";
import { useState } from "react";
import { toast } from "sonner";
import { Button } from "./button";

/** Copies text to the clipboard; falls back to execCommand where the Clipboard API is unavailable (plain http). */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the legacy path
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.opacity = "0";
  // Inside a modal <dialog> only its subtree is interactive: attach next to the active element.
  (document.activeElement?.parentElement ?? document.body).appendChild(ta);
  ta.select();
  const ok = document.execCommand("copy");
  ta.remove();
  return ok;
}

/** A Copy button; `onCopied` tells the caller the text reached the clipboard (e.g. so a dialog with a
 * secret shown once knows whether closing it loses the secret). */
export function CopyButton({
  text,
  label,
  onCopied,
}: {
  text: string;
  label: string;
  onCopied?: () => void;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      size="sm"
      aria-label={label}
      onClick={async () => {
        if (await copyText(text)) {
          setCopied(true);
          onCopied?.();
          setTimeout(() => setCopied(false), 1500);
        } else toast.error("Copy failed; select the text and copy it by hand");
      }}
    >
      {copied ? "Copied" : "Copy"}
    </Button>
  );
}
