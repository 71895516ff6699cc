import { describe, expect, it } from "vitest";
import { contextSh, hostnameOf, metaData, toYaml, userData } from "./cloud-init";

describe("cloud-init seed documents", () => {
  it("host names are RFC 1123 labels whatever the instance is called", () => {
    expect(hostnameOf("Web 1")).toBe("web-1");
    expect(hostnameOf("db_main.eu")).toBe("db-main-eu");
    expect(hostnameOf("--x--")).toBe("x");
    expect(hostnameOf("___")).toBe("instance");
    expect(hostnameOf(`a${"b".repeat(70)}`)).toHaveLength(63);
    expect(hostnameOf(`${"a".repeat(62)}_b`)).toBe("a".repeat(62));
  });

  it("YAML strings stay strings (no 'on' → true, no octal, no injected keys)", () => {
    const text = toYaml({ a: "on", b: "0755", c: 'x"\ny: 1', list: ["1e3", 2, true], empty: [], none: {} });
    expect(text).toBe(
      'a: "on"\nb: "0755"\nc: "x\\"\\ny: 1"\nlist:\n  - "1e3"\n  - 2\n  - true\nempty: []\nnone: {}\n',
    );
    expect(toYaml({ ethernets: { eth0: { routes: [{ to: "default", via: "10.0.0.1" }] } } })).toBe(
      'ethernets:\n  eth0:\n    routes:\n      - to: "default"\n        via: "10.0.0.1"\n',
    );
  });

  it("meta-data, user-data and context.sh name the instance; shell values are quoted safely", () => {
    const inst = {
      id: 7,
      name: "Web 1",
      nics: [
        {
          idx: 0,
          mac: "02:00:0a:00:00:0a",
          ip: "10.0.0.10",
          ip6: null,
          prefix: 24,
          prefix6: null,
          context: { gateway: "10.0.0.1", custom: { MOTD: "it's $(reboot)", "bad-name": "x" } },
        },
      ],
    };
    expect(metaData(inst)).toBe('instance-id: "bh-7"\nlocal-hostname: "web-1"\n');
    expect(userData(inst).startsWith('#cloud-config\nhostname: "web-1"\n')).toBe(true);
    const sh = contextSh(inst);
    expect(sh).toContain("ETH0_IP='10.0.0.10'\n");
    expect(sh).toContain("ETH0_MASK='255.255.255.0'\n");
    expect(sh).toContain("ETH0_GATEWAY='10.0.0.1'\n");
    expect(sh).toContain(`ETH0_MOTD='it'\\''s $(reboot)'\n`);
    expect(sh).not.toContain("bad-name");
  });
});
