import { DiscoveryConfigError, Instance, ServiceRegistry, createPicker, decodeNodeData, registrationFromEnv, serviceDnsName } from "../../runtime/discovery";

const instance = (id: string, track: "stable" | "canary", weight: number): Instance => ({
  id,
  host: `10.0.0.${id.length}`,
  port: 9090,
  track,
  weight,
  pod: id,
  registeredAt: "",
});

function tally(instances: Instance[], picks: number): Record<string, number> {
  const picker = createPicker(() => instances);
  const counts: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const chosen = picker.pick();
    const key = chosen ? chosen.id : "none";
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe("picker", () => {
  it("splits calls exactly by track weight (90/10) and round-robins inside each track", () => {
    const counts = tally([instance("s1", "stable", 90), instance("s2", "stable", 90), instance("s3", "stable", 90), instance("c1", "canary", 10)], 1000);
    expect(counts).toEqual({ s1: 300, s2: 300, s3: 300, c1: 100 });
  });

  it("lets stable take whatever the canary leaves, so stable pods registered at 100 never need a restart", () => {
    const live = (canaryWeight: number) => [instance("s1", "stable", 100), instance("s2", "stable", 100), instance("c1", "canary", canaryWeight)];
    expect(tally(live(10), 100)).toEqual({ s1: 45, s2: 45, c1: 10 });
    expect(tally(live(50), 100)).toEqual({ s1: 25, s2: 25, c1: 50 });
    expect(tally(live(100), 10)).toEqual({ c1: 10 });
  });

  it("never sends two canary calls in a row at weight 10 (smooth, not bursty)", () => {
    const picker = createPicker(() => [instance("s1", "stable", 90), instance("c1", "canary", 10)]);
    const tracks = Array.from({ length: 100 }, () => picker.pick()!.track);
    expect(tracks.filter((t) => t === "canary")).toHaveLength(10);
    expect(tracks.join(",")).not.toContain("canary,canary");
  });

  it("gives a track's share to the other track when it has no instances", () => {
    expect(tally([instance("s1", "stable", 90), instance("s2", "stable", 90)], 10)).toEqual({ s1: 5, s2: 5 });
    expect(tally([instance("c1", "canary", 10)], 4)).toEqual({ c1: 4 });
  });

  it("never chooses an instance with weight 0, and returns undefined when nothing is choosable", () => {
    expect(tally([instance("s1", "stable", 100), instance("c1", "canary", 0)], 50)).toEqual({ s1: 50 });
    expect(tally([instance("c1", "canary", 0)], 3)).toEqual({ none: 3 });
    expect(tally([], 2)).toEqual({ none: 2 });
  });

  it("follows membership changes between picks", () => {
    let live = [instance("s1", "stable", 100)];
    const picker = createPicker(() => live);
    expect(picker.pick()!.id).toBe("s1");
    live = [instance("s2", "stable", 100)];
    expect(picker.pick()!.id).toBe("s2");
  });
});

describe("registrationFromEnv", () => {
  const env = {
    CLASSROOM_REGISTRY_CONNECT: "zk-0.zk:2181,zk-1.zk:2181",
    CLASSROOM_SERVICE: "session-rpc",
    CLASSROOM_NAMESPACE: "classroom",
    CLASSROOM_SERVICE_PORT: "9090",
    CLASSROOM_TRACK: "canary",
    CLASSROOM_TRACK_WEIGHT: "10",
    POD_IP: "10.1.2.3",
    POD_NAME: "session-rpc-canary-5d8f-x2k",
  };

  it("reads the platform's env contract, with the default root", () => {
    expect(registrationFromEnv(env)).toEqual({
      connect: "zk-0.zk:2181,zk-1.zk:2181",
      root: "/classroom/services",
      service: "session-rpc",
      namespace: "classroom",
      instance: { id: "session-rpc-canary-5d8f-x2k", pod: "session-rpc-canary-5d8f-x2k", host: "10.1.2.3", port: 9090, track: "canary", weight: 10 },
    });
    expect(registrationFromEnv({ ...env, CLASSROOM_REGISTRY_ROOT: "/other/root/" }).root).toBe("/other/root");
  });

  it("names every missing or bad variable and what it allows, in one error", () => {
    const { POD_IP: _ip, ...withoutIp } = env;
    let error: unknown;
    try {
      registrationFromEnv({ ...withoutIp, CLASSROOM_TRACK: "beta", CLASSROOM_TRACK_WEIGHT: "150", CLASSROOM_SERVICE_PORT: "http" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DiscoveryConfigError);
    const message = (error as Error).message;
    expect(message).toContain("POD_IP is not set");
    expect(message).toContain("CLASSROOM_TRACK must be one of stable | canary, got 'beta'");
    expect(message).toContain("CLASSROOM_TRACK_WEIGHT must be an integer 0-100, got '150'");
    expect(message).toContain("CLASSROOM_SERVICE_PORT must be an integer 1-65535, got 'http'");
  });

  it("rejects a connect string that is not host:port pairs", () => {
    expect(() => registrationFromEnv({ ...env, CLASSROOM_REGISTRY_CONNECT: "zk-0.zk" })).toThrow("CLASSROOM_REGISTRY_CONNECT must be host:port[,host:port...]");
  });
});

describe("node data", () => {
  it("decodes the documented JSON and tolerates writers that omit optional fields", () => {
    expect(
      decodeNodeData(
        "p",
        Buffer.from('{"host":"10.0.0.1","port":80,"track":"canary","weight":5,"pod":"p","registeredAt":"2026-01-01T00:00:00.000Z","extra":1}'),
      ),
    ).toEqual({ id: "p", host: "10.0.0.1", port: 80, track: "canary", weight: 5, pod: "p", registeredAt: "2026-01-01T00:00:00.000Z" });
    expect(decodeNodeData("p", Buffer.from('{"host":"10.0.0.1","port":80}'))).toMatchObject({ track: "stable", weight: 100, pod: "p" });
  });

  it("reports what is wrong with a bad node instead of throwing", () => {
    expect(decodeNodeData("p", Buffer.from("not json"))).toEqual({ error: "node p: data is not JSON" });
    expect(decodeNodeData("p", Buffer.from('{"host":"h","port":1,"track":"blue"}'))).toEqual({
      error: "node p: track must be one of stable | canary, got 'blue'",
    });
  });

  it("says the data must be a JSON object when it is an array, a string, a number or null", () => {
    expect(decodeNodeData("p", Buffer.from('[{"host":"10.0.0.1","port":80}]'))).toEqual({
      error: 'node p: data must be a JSON object with host and port, got an array ([{"host":"10.0.0.1","port":80}])',
    });
    expect(decodeNodeData("p", Buffer.from('"10.0.0.1:80"'))).toEqual({
      error: "node p: data must be a JSON object with host and port, got a string ('10.0.0.1:80')",
    });
    expect(decodeNodeData("p", Buffer.from("8080"))).toEqual({ error: "node p: data must be a JSON object with host and port, got a number (8080)" });
    expect(decodeNodeData("p", Buffer.from("null"))).toEqual({ error: "node p: data must be a JSON object with host and port, got null" });
  });
});

describe("registry options", () => {
  it("names the offending option", () => {
    expect(() => new ServiceRegistry({ connect: "localhost" })).toThrow("connect must be host:port");
    expect(() => new ServiceRegistry({ connect: "127.0.0.1:1", root: "relative" })).toThrow("root must be an absolute ZooKeeper path");
    expect(() => new ServiceRegistry({ connect: "127.0.0.1:1", sessionTimeoutMs: -1 })).toThrow("sessionTimeoutMs must be a positive number");
  });

  it("builds the Kubernetes Service DNS name the platform creates", () => {
    expect(serviceDnsName("session-rpc", "classroom")).toBe("session-rpc.classroom.svc.cluster.local");
  });
});
