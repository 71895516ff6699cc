/** @type {import('next').NextConfig} */
const nextConfig = {
  // better-sqlite3 is a native addon: load it from node_modules at run time, never bundle it.
  serverExternalPackages: ["better-sqlite3"],
  poweredByHeader: false,
  reactStrictMode: true,
  // The agent, tests and benches are type-checked by `npm run typecheck`; keep `next build` focused.
  typescript: { tsconfigPath: "tsconfig.json" },
};
export default nextConfig;
