import { Instance, createPicker, keyPoint } from "../../runtime/discovery";

const instance = (id: string, track: "stable" | "canary", weight: number): Instance => ({
  id,
  host: `10.0.0.${id.length}`,
  port: 9090,
  track,
  weight,
  pod: id,
  registeredAt: "",
});
const classes = Array.from({ length: 2000 }, (_, i) => `class-${i}`);

describe("picker tags (request-based gray routing for rpc)", () => {
  it("sends every call of one class to one track, and about the canary's share of the classes to the canary", () => {
    const picker = createPicker(() => [instance("s1", "stable", 100), instance("s2", "stable", 100), instance("c1", "canary", 10)]);
    const trackOf = (key: string) => new Set(Array.from({ length: 5 }, () => picker.pick({ key })!.track));
    const tracks = classes.map(trackOf);
    expect(tracks.every((t) => t.size === 1)).toBe(true);
    const onCanary = tracks.filter((t) => t.has("canary")).length / classes.length;
    expect(onCanary).toBeGreaterThan(0.07);
    expect(onCanary).toBeLessThan(0.13);
  });

  it("puts a key on the same track in every caller process (the point depends on the key alone)", () => {
    const a = createPicker(() => [instance("s1", "stable", 100), instance("c1", "canary", 30)]);
    const b = createPicker(() => [instance("c1", "canary", 30), instance("s1", "stable", 100)]);
    b.pick(); // a different round-robin position changes nothing
    expect(classes.map((k) => a.pick({ key: k })!.track)).toEqual(classes.map((k) => b.pick({ key: k })!.track));
    expect(keyPoint("class-1")).toBe(keyPoint("class-1"));
  });

  it("only moves classes from stable to canary as the canary's weight rises", () => {
    let weight = 10;
    const picker = createPicker(() => [instance("s1", "stable", 100), instance("c1", "canary", weight)]);
    const onCanary = () => new Set(classes.filter((k) => picker.pick({ key: k })!.track === "canary"));
    const at10 = onCanary();
    weight = 50;
    const at50 = onCanary();
    expect([...at10].every((k) => at50.has(k))).toBe(true);
    expect(at50.size).toBeGreaterThan(at10.size);
  });

  it("honours a track tag while that track has a choosable instance, and falls back to the split when not", () => {
    let canaryWeight = 10;
    const picker = createPicker(() => [instance("s1", "stable", 100), instance("c1", "canary", canaryWeight)]);
    expect(Array.from({ length: 20 }, () => picker.pick({ track: "canary" })!.id)).toEqual(Array(20).fill("c1"));
    canaryWeight = 0; // rolled back: the tagged caller is served by stable, not stranded
    expect(picker.pick({ track: "canary" })!.id).toBe("s1");
  });

  it("leaves untagged calls' exact split alone when tagged calls are mixed in", () => {
    const picker = createPicker(() => [instance("s1", "stable", 90), instance("c1", "canary", 10)]);
    const untagged: string[] = [];
    for (let i = 0; i < 100; i++) {
      picker.pick({ track: "canary" });
      picker.pick({ key: `k${i}` });
      untagged.push(picker.pick()!.track);
    }
    expect(untagged.filter((t) => t === "canary")).toHaveLength(10);
  });
});
