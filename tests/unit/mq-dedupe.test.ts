import { Deduplicator } from "../../runtime/mq/dedupe";
import { MessageIds, parseMessageId, shardOf } from "../../runtime/mq/message";

describe("Deduplicator", () => {
  test("accepts each message id once and drops later copies, per topic and key", () => {
    const d = new Deduplicator();
    expect(d.accept("t", "k1", "p.1")).toBe(true);
    expect(d.accept("t", "k1", "p.2")).toBe(true);
    expect(d.accept("t", "k1", "p.1")).toBe(false); // a replayed copy arriving after a later message
    expect(d.accept("t", "k1", "p.2")).toBe(false);
    expect(d.accept("t", "k2", "p.3")).toBe(true);
    expect(d.accept("other", "k1", "p.2")).toBe(true);
    expect(d.stats).toMatchObject({ accepted: 4, dropped: 2 });
  });

  test("keeps sequences of different producer instances apart", () => {
    const d = new Deduplicator();
    expect(d.accept("t", "k", "a.5")).toBe(true);
    expect(d.accept("t", "k", "b.1")).toBe(true);
    expect(d.accept("t", "k", "a.5")).toBe(false);
  });

  test("passes messages without one of our ids through and counts them", () => {
    const d = new Deduplicator();
    expect(d.accept("t", "k", undefined)).toBe(true);
    expect(d.accept("t", "k", "not-an-id")).toBe(true);
    expect(d.stats.withoutId).toBe(2);
  });

  test("remembers at most maxKeys keys, forgetting the least recently seen", () => {
    const d = new Deduplicator({ maxKeys: 2 });
    d.accept("t", "a", "p.1");
    d.accept("t", "b", "p.2");
    d.accept("t", "a", "p.3"); // a is now the most recent
    d.accept("t", "c", "p.4"); // evicts b
    expect(d.stats.evictedKeys).toBe(1);
    expect(d.accept("t", "a", "p.3")).toBe(false);
    expect(d.accept("t", "b", "p.2")).toBe(true); // forgotten: the documented limit of bounded memory
  });

  test("reads the id from a consumed message's headers", () => {
    const d = new Deduplicator();
    const m = { topic: "t", key: Buffer.from("k"), headers: new Map([[Buffer.from("mq-id"), Buffer.from("p.1")]]) };
    expect(d.acceptMessage(m)).toBe(true);
    expect(d.acceptMessage(m)).toBe(false);
  });

  test("rejects a maxKeys that is not a positive integer", () => {
    expect(() => new Deduplicator({ maxKeys: 0 })).toThrow(/maxKeys/);
  });
});

describe("message ids and shards", () => {
  test("ids are <instance>.<sequence> with a sequence that grows by one", () => {
    const ids = new MessageIds("inst");
    expect([ids.next(), ids.next()]).toEqual(["inst.1", "inst.2"]);
    expect(parseMessageId("inst.2")).toEqual({ instance: "inst", seq: 2 });
    expect(parseMessageId("inst")).toBeUndefined();
    expect(() => new MessageIds("has.dot")).toThrow(/instance id/);
  });

  test("a key always maps to the same shard, and keys spread over all shards", () => {
    expect(shardOf("classroom-42", 16)).toBe(shardOf("classroom-42", 16));
    const used = new Set(Array.from({ length: 1_000 }, (_, i) => shardOf(`k${i}`, 16)));
    expect(used.size).toBe(16);
  });
});
