"use client";
// The account menu in the header: who is signed in, Change password, Profile & API tokens, Sign
// out. A menu button (WAI-ARIA menu pattern): Enter/Space/↓ opens it on the first item, ↑/↓ move,
// Esc closes and gives focus back to the button, a click outside closes it.
import { useQueryClient } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type KeyboardEvent, useEffect, useId, useRef, useState } from "react";
import { toast } from "sonner";
import { cx } from "./ui/cx";

// The dialog's form (zod schemas, address checks) and the auth client load when first used, so
// every page of the portal does not download them up front.
const ChangePasswordDialog = dynamic(() =>
  import("./change-password-dialog").then((m) => m.ChangePasswordDialog),
);

const itemClass =
  "block w-full px-4 py-2 text-left text-sm text-slate-700 hover:bg-slate-100 focus:bg-slate-100 focus:outline-none";

export function AccountMenu({ name, username, role }: { name: string; username: string; role: string }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [changing, setChanging] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const menuId = useId();

  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
  const focusItem = (i: number) => {
    const all = items();
    all[(i + all.length) % all.length]?.focus();
  };

  useEffect(() => {
    if (!open) return;
    // First item on opening (the menu has just mounted, so read it here rather than via focusItem).
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: MouseEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node))
        setOpen(false);
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const onMenuKey = (e: KeyboardEvent) => {
    const at = items().indexOf(document.activeElement as HTMLElement);
    if (e.key === "ArrowDown") focusItem(at + 1);
    else if (e.key === "ArrowUp") focusItem(at - 1);
    else if (e.key === "Home") focusItem(0);
    else if (e.key === "End") focusItem(-1);
    else if (e.key === "Escape" || e.key === "Tab") {
      if (e.key === "Escape") close();
      else setOpen(false);
      return;
    } else return;
    e.preventDefault();
  };

  const signOut = async () => {
    setOpen(false);
    setSigningOut(true);
    const { authClient } = await import("./auth-client");
    const { error } = await authClient.signOut();
    setSigningOut(false);
    if (error) {
      toast.error(`Sign out failed: ${error.message ?? error.statusText}`);
      return;
    }
    queryClient.clear();
    router.replace("/login");
  };

  return (
    <div className="relative">
      <button
        ref={button}
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={`Account: ${name}`}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setOpen(true);
          }
        }}
        className="flex items-center gap-2 rounded-md px-2 py-1 text-right text-sm leading-tight hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600"
      >
        <span>
          <span className="block font-medium text-slate-900" data-testid="current-user">
            {name}
          </span>
          <span className="block text-xs text-slate-500">
            {username} · {role}
            {signingOut ? " · signing out…" : ""}
          </span>
        </span>
        <svg aria-hidden viewBox="0 0 20 20" className={cx("size-4 text-slate-500", open && "rotate-180")}>
          <path d="M5 8l5 5 5-5" fill="none" stroke="currentColor" strokeWidth="1.8" />
        </svg>
      </button>
      {open && (
        <div
          ref={menu}
          id={menuId}
          role="menu"
          aria-label="Account"
          tabIndex={-1}
          onKeyDown={onMenuKey}
          className="absolute right-0 z-20 mt-1 w-56 overflow-hidden rounded-md bg-white py-1 shadow-lg ring-1 ring-slate-900/10"
        >
          <button
            type="button"
            role="menuitem"
            className={itemClass}
            onClick={() => {
              setOpen(false);
              setChanging(true);
            }}
          >
            Change password
          </button>
          <Link href="/profile" role="menuitem" className={itemClass} onClick={() => setOpen(false)}>
            Profile &amp; API tokens
          </Link>
          <div className="my-1 border-t border-slate-100" />
          <button type="button" role="menuitem" className={itemClass} onClick={signOut}>
            Sign out
          </button>
        </div>
      )}
      {changing && <ChangePasswordDialog open onClose={() => setChanging(false)} />}
    </div>
  );
}
