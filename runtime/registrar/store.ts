import { createHash } from "node:crypto";
import * as zookeeper from "node-zookeeper-client";
import { encodeNodeData, validateRoot } from "../discovery/contract";
import { Logger } from "../discovery/logger";
import { SessionManager } from "../discovery/session";
import { ConnectionDisposedError, ZkConnection, ZkStats, isNoNode, isNodeExists, zkCode } from "../discovery/zk";
import { DesiredNode } from "./desired";

/**
 * The registrar's side of ZooKeeper.
 *
 * Node lifetime: PERSISTENT. An ephemeral node lives as long as the session that wrote it, so nodes
 * written by the registrar would vanish whenever the active replica dies or fails over, taking healthy
 * instances out of every caller's view. Persistent nodes survive the writer; removing a node whose
 * endpoint is gone is the registrar's job (the next leader does it when it starts).
 *
 * Ownership: every node the registrar writes has an entry in its ledger, `<stateRoot>/owned/<service>/<id>@<hash>`,
 * created, renamed and deleted in the same multi-op as the node itself, so node and entry exist together
 * or not at all. The hash of the node's content is in the entry's name, so a new leader learns what every
 * owned node holds from one listing per service, without reading each node. The node's data is exactly the discovery contract (no marker a caller could see). A node with
 * no ledger entry (a self-registered pod, a VM agent) is never written or deleted.
 *
 * Fencing: a new leader bumps the version of `<stateRoot>/leader`; every write checks that version in
 * the same multi-op, so a deposed leader that still has writes in flight cannot overwrite its successor.
 */
export interface OwnedNode {
  /** Hash of the node's content as last written (from its ledger entry's name); "" when unknown. */
  hash: string;
  /** The ledger entry exists but someone deleted the node itself. */
  missing: boolean;
}

// Per node object: KubeView hands out the same object while an endpoint is unchanged, so a diff of a
// 50-endpoint service after one flip hashes one node, not fifty.
const hashes = new WeakMap<DesiredNode, string>();

/** Short hash of a node's content (write time excluded): carried in the ledger entry's name. */
export function nodeHash(node: DesiredNode): string {
  let hash = hashes.get(node);
  if (hash === undefined) {
    hash = createHash("sha1")
      .update(JSON.stringify([node.host, node.port, node.track, node.weight, node.pod]))
      .digest("hex")
      .slice(0, 12);
    hashes.set(node, hash);
  }
  return hash;
}

export interface ServiceView {
  /** Nodes this registrar wrote (ledger entry present), with the hash of what it wrote. */
  owned: Map<string, OwnedNode>;
  /** Children of the service directory that are not the registrar's: never touched. */
  foreign: Set<string>;
}

/** Our fence moved: another leader took over. Stop writing. */
export class FencedError extends Error {
  constructor() {
    super("the registrar's leader fence moved: another replica is the leader now");
    this.name = "FencedError";
  }
}

/** The node or its ledger entry is not as we believed (written by someone else meanwhile): re-read it. */
export class ConflictError extends Error {
  constructor(
    readonly path: string,
    readonly code: number | undefined,
  ) {
    super(`${path}: not in the state the registrar expected (ZooKeeper code ${code})`);
    this.name = "ConflictError";
  }
}

export interface StoreOptions {
  session: SessionManager;
  root: string;
  stateRoot: string;
  logger: Logger;
  stats: ZkStats;
}

type Op = (t: zookeeper.Transaction) => zookeeper.Transaction;

export class RegistryStore {
  readonly root: string;
  readonly stateRoot: string;
  private fenceVersion: number | undefined;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly makingDirs = new Map<string, Promise<void>>();

  constructor(private readonly options: StoreOptions) {
    this.root = validateRoot(options.root, "root");
    this.stateRoot = validateRoot(options.stateRoot, "stateRoot");
    // A replaced client never answers its outstanding calls: fail them so the reconciler retries.
    options.session.on("replaced", () => {
      const error = new ConnectionDisposedError("session replaced");
      for (const reject of [...this.pending]) reject(error);
    });
  }

  get fencePath(): string {
    return `${this.stateRoot}/leader`;
  }
  nodePath(service: string, id: string): string {
    return `${this.root}/${service}/${id}`;
  }
  ledgerPath(service: string, id?: string): string {
    return `${this.stateRoot}/owned/${service}${id === undefined ? "" : `/${id}`}`;
  }

  private conn(): ZkConnection {
    const conn = this.options.session.current;
    if (!conn) throw new ConnectionDisposedError("no ZooKeeper client");
    return conn;
  }

  /**
   * Becomes the only writer: bumps the fence node's version and remembers it. Call once per leadership
   * term, before any write. The fence data names the holder, for humans.
   */
  async takeFence(identity: string): Promise<number> {
    const conn = this.conn();
    const data = Buffer.from(JSON.stringify({ holder: identity, since: new Date().toISOString() }));
    for (;;) {
      try {
        // Always a setData, never only a create: the version is then at least 1, which matters because
        // node-zookeeper-client's multi-op turns a check of version 0 into "any version".
        const stat = await conn.setData(this.fencePath, data, -1);
        this.fenceVersion = stat.version;
        return stat.version;
      } catch (err) {
        if (!isNoNode(err)) throw err;
        await conn.mkdirp(this.fencePath).catch((e) => {
          if (!isNodeExists(e)) throw e;
        });
      }
    }
  }

  dropFence(): void {
    this.fenceVersion = undefined;
  }

  /** Services that have at least one ledger entry (nodes the registrar wrote and may have to remove). */
  async ownedServices(): Promise<string[]> {
    try {
      return (await this.conn().getChildren(`${this.stateRoot}/owned`)).children;
    } catch (err) {
      if (isNoNode(err)) return [];
      throw err;
    }
  }

  /** Reads a service's ledger and directory: what each owned node holds (by hash), and the foreign children. */
  async load(service: string): Promise<ServiceView> {
    const conn = this.conn();
    const children = async (path: string) => {
      try {
        return (await conn.getChildren(path)).children;
      } catch (err) {
        if (isNoNode(err)) return [];
        throw err;
      }
    };
    const [ledger, present] = await Promise.all([children(this.ledgerPath(service)), children(`${this.root}/${service}`)]);
    const presentSet = new Set(present);
    const owned = new Map<string, OwnedNode>();
    for (const entry of ledger) {
      const at = entry.lastIndexOf("@");
      const id = at === -1 ? entry : entry.slice(0, at);
      owned.set(id, { hash: at === -1 ? "" : entry.slice(at + 1), missing: !presentSet.has(id) });
      // Multi-ops keep node and entry together, so a missing node was deleted by hand: re-created.
      if (!presentSet.has(id)) this.options.logger.warn("registrar ledger entry without its node; the node was deleted by someone else", { service, id });
    }
    return { owned, foreign: new Set(present.filter((id) => !owned.has(id))) };
  }

  private entry(service: string, id: string, hash: string): string {
    return this.ledgerPath(service, `${id}@${hash}`);
  }

  /** Creates a node and its ledger entry together. Returns the content hash. */
  async create(service: string, id: string, node: DesiredNode): Promise<string> {
    const hash = nodeHash(node);
    await this.withDirs(service, () =>
      this.multi(
        [
          (t) => t.create(this.nodePath(service, id), encodeNodeData({ ...node, registeredAt: new Date().toISOString() }), zookeeper.CreateMode.PERSISTENT),
          (t) => t.create(this.entry(service, id, hash), Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT),
        ],
        this.nodePath(service, id),
      ),
    );
    return hash;
  }

  /** Re-creates the node of a ledger entry whose node someone deleted. */
  async recreate(service: string, id: string, node: DesiredNode, oldHash: string): Promise<string> {
    const hash = nodeHash(node);
    await this.withDirs(service, () =>
      this.multi(
        [
          (t) => t.remove(this.entry(service, id, oldHash), -1),
          (t) => t.create(this.entry(service, id, hash), Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT),
          (t) => t.create(this.nodePath(service, id), encodeNodeData({ ...node, registeredAt: new Date().toISOString() }), zookeeper.CreateMode.PERSISTENT),
        ],
        this.nodePath(service, id),
      ),
    );
    return hash;
  }

  /** Rewrites an owned node; its ledger entry is renamed to the new hash in the same multi-op. */
  async update(service: string, id: string, node: DesiredNode, oldHash: string): Promise<string> {
    const hash = nodeHash(node);
    await this.multi(
      [
        (t) => t.remove(this.entry(service, id, oldHash), -1),
        (t) => t.create(this.entry(service, id, hash), Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT),
        (t) => t.setData(this.nodePath(service, id), encodeNodeData({ ...node, registeredAt: new Date().toISOString() }), -1),
      ],
      this.nodePath(service, id),
    );
    return hash;
  }

  /** Deletes an owned node and its ledger entry together. */
  async remove(service: string, id: string, have: OwnedNode): Promise<void> {
    await this.multi(
      [
        ...(have.missing ? [] : [(t: zookeeper.Transaction) => t.remove(this.nodePath(service, id), -1)]),
        (t) => t.remove(this.entry(service, id, have.hash), -1),
      ],
      this.nodePath(service, id),
    );
  }

  /**
   * Runs a create; only when a parent directory is missing (the create fails with NoNode) are the
   * service's directories made and the create tried again, so a steady state costs one write per node.
   */
  private async withDirs<T>(service: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (err) {
      if (!(err instanceof ConflictError) || err.code !== zookeeper.Exception.NO_NODE) throw err;
    }
    // A new service's first diff sends all its creates at once; they share one making of the directories.
    let making = this.makingDirs.get(service);
    if (!making) {
      const conn = this.conn();
      making = (async () => {
        for (const dir of [`${this.root}/${service}`, this.ledgerPath(service)]) {
          await conn.mkdirp(dir).catch((e) => {
            if (!isNodeExists(e)) throw e;
          });
        }
      })().finally(() => this.makingDirs.delete(service));
      this.makingDirs.set(service, making);
    }
    await making;
    return create();
  }

  /** One atomic multi-op, fenced: the first op checks the leader fence. */
  private multi(ops: Op[], subject: string): Promise<unknown[]> {
    const fence = this.fenceVersion;
    if (fence === undefined) return Promise.reject(new FencedError());
    const conn = this.conn();
    if (conn.disposed) return Promise.reject(new ConnectionDisposedError("client replaced"));
    this.options.stats.writes++;
    conn.coalesceWrites();
    let t = conn.client.transaction().check(this.fencePath, fence);
    for (const op of ops) t = op(t);
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      t.commit((error, results: Array<{ type: number; err?: number }> | undefined) => {
        if (!this.pending.delete(fail)) return;
        if (!error) return resolve(results ?? []);
        const failed = (results ?? []).findIndex((r) => typeof r.err === "number" && r.err !== 0 && r.err !== zookeeper.Exception.RUNTIME_INCONSISTENCY);
        if (failed === 0) {
          this.fenceVersion = undefined;
          return reject(new FencedError());
        }
        if (failed > 0) return reject(new ConflictError(subject, zkCode(error)));
        reject(error); // connection loss and friends: no per-op results
      });
    });
  }
}
