// Next calls register() once per server start. Node-only start-up lives in server/startup.ts,
// imported only in the Node runtime (this file is also compiled for Edge).
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { startServer } = await import("./server/startup");
    await startServer();
  }
}
