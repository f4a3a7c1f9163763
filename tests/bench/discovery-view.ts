import { crc32 } from "node:zlib";

/** One instance as the bench compares it: the fields a caller routes by. */
export interface ViewInstance {
  id: string;
  host: string;
  port: number;
  track: string;
  weight: number;
}

/**
 * CRC-32 (hex) of a list of instances sorted by id, one "id|host|port|track|weight" per line: the
 * fingerprint every observer of bench:discovery reports (the Java anchor computes the same one), so
 * the bench compares views across processes and languages without shipping whole lists.
 */
export function viewCrc(instances: Iterable<ViewInstance>): string {
  const lines = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((i) => `${i.id}|${i.host}|${i.port}|${i.track}|${i.weight}`);
  return (crc32(lines.join("\n")) >>> 0).toString(16);
}
