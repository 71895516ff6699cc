"use client";
import { Dashboard } from "@/components/dashboard/dashboard";

/** Home: what needs attention (admins: the cloud; end users: their own networks and NICs). */
export default function HomePage() {
  return <Dashboard />;
}
