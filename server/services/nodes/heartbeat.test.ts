// The heartbeat bound (README): a node shows disconnected as soon as its channel closes, and at
// the latest BRIDGEHEAD_NODE_DOWN_AFTER_S after its last report while the channel stays open.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { nodes } from "../../../db/schema";
import { callerFor, testApp, userCaller } from "../../harness.testing";

describe("node liveness from agent reports", () => {
  it("is connected while reports are fresh, disconnected after BRIDGEHEAD_NODE_DOWN_AFTER_S or when the channel closes", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const n = await admin.node.create({ name: "n1" });
    await callerFor(app, null).agent.join({ token: n.joinToken });
    const conn = app.agents.open(n.id);
    const seen = (agoS: number) =>
      app.db
        .update(nodes)
        .set({ lastSeenAt: new Date(Date.now() - agoS * 1000) })
        .where(eq(nodes.id, n.id))
        .run();
    const state = async () => (await admin.node.list()).items[0]!.state;
    const bound = app.env.BRIDGEHEAD_NODE_DOWN_AFTER_S;
    expect(bound).toBe(30);
    seen(bound - 2);
    expect(await state()).toBe("connected");
    seen(bound + 1);
    expect(await state()).toBe("disconnected");
    seen(0);
    app.agents.close(n.id, conn);
    expect(await state()).toBe("disconnected");
  });
});
