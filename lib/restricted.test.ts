import { describe, expect, it } from "vitest";
import {
  changedKeys,
  RESTRICTED_VNET_ATTRS,
  restrictedMessage,
  withoutRestrictedVnetAttrs,
} from "./restricted";

describe("restricted attributes", () => {
  it("names the attribute in words and as its API field", () => {
    expect(restrictedMessage("VNET", "x", "networkType")).toBe(
      "Only cloud admins may change the network type (networkType) of VNET x",
    );
    expect(restrictedMessage("template", "t", "vlanPool")).toBe(
      "Only cloud admins may change the VLAN ID pool (vlanPool) of template t",
    );
  });

  it("changedKeys compares by value, with undefined and null both meaning not set", () => {
    const keys = ["mtu", "phydev", "vlanPool"] as const;
    expect(
      changedKeys(
        keys,
        { mtu: 1500, vlanPool: { from: 1, to: 2 } },
        { mtu: 1500, phydev: null, vlanPool: { from: 1, to: 2 } },
      ),
    ).toEqual([]);
    expect(changedKeys(keys, { mtu: 1500 }, { mtu: 9000, phydev: "eth0" })).toEqual(["mtu", "phydev"]);
    expect(changedKeys(keys, { vlanPool: { from: 1, to: 2 } }, { vlanPool: { from: 1, to: 3 } })).toEqual([
      "vlanPool",
    ]);
  });

  it("a non-admin's form sends none of the restricted VNET attributes", () => {
    const all = Object.fromEntries(Object.keys(RESTRICTED_VNET_ATTRS).map((k) => [k, "x"]));
    expect(withoutRestrictedVnetAttrs({ id: 1, name: "n", antiSpoofing: true, ...all })).toEqual({
      id: 1,
      name: "n",
      antiSpoofing: true,
    });
  });
});
