// Names people read may be written in any script (stored NFC-normalised, so the two ways of typing
// "é" are one name); only device names, which the kernel sees, stay ASCII and say so.
import { beforeEach, describe, expect, it } from "vitest";
import { DEVICE_NAME_RULE } from "../../lib/domain";
import type { App } from "../app";
import { refusal, snapshot, testApp, userCaller } from "../harness.testing";
import { fieldErrorsOf } from "../trpc";

// "Café Zürich" typed with combining accents (e + U+0301, u + U+0308): NFD.
const CAFE_NFD = "Cafe\u0301 Zu\u0308rich";
const CAFE_NFC = "Café Zürich";

describe("Unicode names", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });

  it("a VNET may be named and described in any script; the name is stored NFC and stays unique", async () => {
    const v = await admin.vnet.create({
      name: CAFE_NFD,
      description: "  Réseau privé — 東京の開発チーム  ",
      subnet: "10.0.0.0/24",
      firstIp: "10.0.0.10",
      size: 10,
    });
    const got = await admin.vnet.get({ id: v.id });
    expect(got.name).toBe(CAFE_NFC);
    expect(got.name.length).toBe(11);
    expect(got.description).toBe("Réseau privé — 東京の開発チーム");
    // The precomposed spelling is the same name.
    const before = snapshot(app);
    const dup = await refusal(
      admin.vnet.create({ name: CAFE_NFC, subnet: "10.1.0.0/24", firstIp: "10.1.0.10", size: 10 }),
      "CONFLICT",
      "name",
    );
    expect(dup.message).toBe(`A VNET named ${CAFE_NFC} already exists; pick another name`);
    expect(snapshot(app)).toEqual(before);
    await admin.vnet.rename({ id: v.id, name: "Сеть-Москва" });
    expect((await admin.vnet.get({ id: v.id })).name).toBe("Сеть-Москва");
    await admin.vnet.update({ id: v.id, description: "Ελληνικά" });
    expect((await admin.vnet.get({ id: v.id })).description).toBe("Ελληνικά");
  });

  it("templates, security groups and user groups take Unicode names and descriptions", async () => {
    const t = await admin.template.allocate({
      name: "Réseau privé",
      description: "Für Entwickler",
      attrs: { driver: "bridge", networkType: "internal", subnet: "192.168.50.0/24" },
    });
    expect((await admin.template.get({ id: t.id })).name).toBe("Réseau privé");
    const sg = await admin.sg.create({ name: "Sécurité web", description: "入力のみ", rules: [] });
    expect((await admin.sg.get({ id: sg.id })).name).toBe("Sécurité web");
    const g = await admin.group.create({ name: "équipe-α", description: "Ωmega" });
    expect((await admin.group.list()).find((x) => x.id === g.id)?.name).toBe("équipe-α");
  });

  it("names are refused at the field when they are not letters, digits and the few separators", async () => {
    const before = snapshot(app);
    for (const name of ["", "   ", "-leading-dash", "emoji 🚀", "tab\there", "a".repeat(65)]) {
      const err = await refusal(
        admin.vnet.create({ name, subnet: "10.2.0.0/24", firstIp: "10.2.0.10", size: 5 }),
        "BAD_REQUEST",
        "name",
      );
      expect(err.message, JSON.stringify(name)).toMatch(/Name is required|letters \(any script\)|at most 64/);
    }
    expect(snapshot(app)).toEqual(before);
  });

  it("device names stay ASCII, and the message says exactly that", async () => {
    const before = snapshot(app);
    for (const [input, field] of [
      [{ bridge: "brücke" }, "bridge"],
      [{ phydev: "ethö1" }, "phydev"],
    ] as const) {
      const err = await refusal(
        admin.vnet.create({ name: "net", subnet: "10.3.0.0/24", firstIp: "10.3.0.10", size: 5, ...input }),
        "BAD_REQUEST",
        field,
      );
      expect(fieldErrorsOf(err.cause)?.[field]).toEqual([DEVICE_NAME_RULE]);
    }
    expect(DEVICE_NAME_RULE).toBe(
      "Device names stay ASCII (they are kernel interface names): up to 15 letters a–z, digits, dot, dash or underscore",
    );
    expect(snapshot(app)).toEqual(before);
  });
});
