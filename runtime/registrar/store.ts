import * as zookeeper from "node-zookeeper-client";
import { Instance, decodeNodeData, encodeNodeData, validateRoot } from "../discovery/contract";
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
 * Ownership: every node the registrar writes has an entry in its ledger, `<stateRoot>/owned/<service>/<id>`,
 * created and deleted in the same multi-op as the node itself, so node and entry exist together or not
 * at all. The node's data is exactly the discovery contract (no marker a caller could see). A node with
 * no ledger entry (a self-registered pod, a VM agent) is never written or deleted.
 *
 * Fencing: a new leader bumps the version of `<stateRoot>/leader`; every write checks that version in
 * the same multi-op, so a deposed leader that still has writes in flight cannot overwrite its successor.
 */
export interface OwnedNode {
  node: Instance;
  version: number;
}

export interface ServiceView {
  /** Nodes this registrar wrote (ledger entry present), with their ZooKeeper data version. */
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
  constructor(readonly path: string, readonly code: number | undefined) {
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

  constructor(private readonly options: StoreOptions) {
    this.root = validateRoot(options.root, "root");
    this.stateRoot = validateRoot(options.stateRoot, "stateRoot");
    // A replaced client never answers its outstanding calls: fail them so the reconciler retries.
    options.session.on("replaced", () => {
      const error = new ConnectionDisposedError("session replaced");
      for (const reject of [...this.pending]) reject(error);
    });
  }

  get fencePath(): string { return `${this.stateRoot}/leader`; }
  nodePath(service: string, id: string): string { return `${this.root}/${service}/${id}`; }
  ledgerPath(service: string, id?: string): string { return `${this.stateRoot}/owned/${service}${id === undefined ? "" : `/${id}`}`; }

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
        await conn.mkdirp(this.fencePath).catch((e) => { if (!isNodeExists(e)) throw e; });
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

  /** Reads a service's ledger, the data and version of each owned node, and the foreign children. */
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
    const owned = new Map<string, OwnedNode>();
    const ledgerSet = new Set(ledger);
    await Promise.all(ledger.map(async (id) => {
      try {
        const { data, stat } = await conn.getData(this.nodePath(service, id));
        const node = decodeNodeData(id, data);
        // A node of ours whose data no longer decodes is still ours: the zero-weight placeholder makes the
        // reconciler rewrite it (or delete it when its endpoint is gone).
        owned.set(id, { node: "error" in node ? { id, host: "", port: 0, track: "stable", weight: -1, pod: "", registeredAt: "" } : node, version: stat.version });
      } catch (err) {
        // Multi-ops keep node and entry together, so this is only someone deleting our node by hand:
        // the entry alone is harmless, and the reconciler re-creates or forgets it.
        if (!isNoNode(err)) throw err;
        this.options.logger.warn("registrar ledger entry without its node; the node was deleted by someone else", { service, id });
        owned.set(id, { node: { id, host: "", port: 0, track: "stable", weight: -1, pod: "", registeredAt: "" }, version: -2 });
      }
    }));
    return { owned, foreign: new Set(present.filter((id) => !ledgerSet.has(id))) };
  }

  /** Creates a node and its ledger entry together. Returns the node's version (0). */
  async create(service: string, id: string, node: DesiredNode): Promise<number> {
    await this.withDirs(service, () => this.multi([
      (t) => t.create(this.nodePath(service, id), encodeNodeData({ ...node, registeredAt: new Date().toISOString() }), zookeeper.CreateMode.PERSISTENT),
      (t) => t.create(this.ledgerPath(service, id), Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT),
    ], this.nodePath(service, id)));
    return 0;
  }

  /** Re-creates the node of a ledger entry whose node someone deleted. */
  async recreate(service: string, id: string, node: DesiredNode): Promise<number> {
    await this.withDirs(service, () => this.multi([
      (t) => t.check(this.ledgerPath(service, id), -1),
      (t) => t.create(this.nodePath(service, id), encodeNodeData({ ...node, registeredAt: new Date().toISOString() }), zookeeper.CreateMode.PERSISTENT),
    ], this.nodePath(service, id)));
    return 0;
  }

  /** Rewrites an owned node if it still has `version`. Returns the new version. */
  async update(service: string, id: string, node: DesiredNode, version: number): Promise<number> {
    const results = await this.multi([
      (t) => t.check(this.ledgerPath(service, id), -1),
      (t) => t.setData(this.nodePath(service, id), encodeNodeData({ ...node, registeredAt: new Date().toISOString() }), version),
    ], this.nodePath(service, id));
    return (results[results.length - 1] as { stat?: zookeeper.Stat }).stat?.version ?? version + 1;
  }

  /** Deletes an owned node (if it still has `version`) and its ledger entry together. */
  async remove(service: string, id: string, version: number): Promise<void> {
    await this.multi([
      ...(version === -2 ? [] : [(t: zookeeper.Transaction) => t.remove(this.nodePath(service, id), version)]),
      (t) => t.remove(this.ledgerPath(service, id), -1),
    ], this.nodePath(service, id));
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
    const conn = this.conn();
    for (const dir of [`${this.root}/${service}`, this.ledgerPath(service)]) {
      await conn.mkdirp(dir).catch((e) => { if (!isNodeExists(e)) throw e; });
    }
    return create();
  }

  /** One atomic multi-op, fenced: the first op checks the leader fence. */
  private multi(ops: Op[], subject: string): Promise<unknown[]> {
    const fence = this.fenceVersion;
    if (fence === undefined) return Promise.reject(new FencedError());
    const conn = this.conn();
    if (conn.disposed) return Promise.reject(new ConnectionDisposedError("client replaced"));
    this.options.stats.writes++;
    let t = conn.client.transaction().check(this.fencePath, fence);
    for (const op of ops) t = op(t);
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => { this.pending.delete(fail); reject(err); };
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
