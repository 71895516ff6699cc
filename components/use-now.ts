"use client";
import { useEffect, useState } from "react";

/** The current time, refreshed every `ms` so relative times ("12 s ago") keep moving. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
