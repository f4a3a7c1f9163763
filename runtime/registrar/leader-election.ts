import { CoordinationV1Api, V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { Logger } from "../discovery/logger";

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  /** How long a standby waits, from the last change it observed in the Lease, before taking it over. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading. Less than leaseDurationMs. */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire or renew. */
  retryPeriodMs: number;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

const code = (err: unknown) => (err as { code?: number })?.code;
const micro = () => new V1MicroTime(Date.now()) as unknown as Date;

/**
 * client-go's leader election (tools/leaderelection) over a coordination.k8s.io/v1 Lease, in TypeScript.
 *
 * As there, expiry is judged by the standby's own clock: it remembers when it last saw the Lease record
 * change and takes over only after a full lease duration without a change, so clock skew between
 * replicas does not matter. Updates are optimistic (resourceVersion), so two standbys racing for an
 * expired Lease cannot both win. The leader renews every retry period and stops leading if it has not
 * managed to renew within the renew deadline, which is shorter than the lease duration: it stops writing
 * before any standby may start. (ZooKeeper writes are fenced as well; see store.ts.)
 */
export class LeaderElector {
  private observedRecord = "";
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly o: LeaderElectionOptions) {
    if (!(o.renewDeadlineMs < o.leaseDurationMs))
      throw new Error(`the renew deadline (${o.renewDeadlineMs} ms) must be shorter than the lease duration (${o.leaseDurationMs} ms)`);
    if (!(o.retryPeriodMs < o.renewDeadlineMs))
      throw new Error(`the retry period (${o.retryPeriodMs} ms) must be shorter than the renew deadline (${o.renewDeadlineMs} ms)`);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Runs until stop(): campaigns, leads while renewals succeed, campaigns again after losing. */
  async run(): Promise<void> {
    // A renewal that hangs (API server unreachable, not refusing) must not keep us leading past the deadline.
    const watchdog = setInterval(
      () => {
        if (this.leading && Date.now() - this.lastRenew >= this.o.renewDeadlineMs) this.loseLeadership("could not renew the lease within the renew deadline");
      },
      Math.max(50, Math.floor(this.o.retryPeriodMs / 2)),
    );
    try {
      await this.loop();
    } finally {
      clearInterval(watchdog);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.o.logger.warn("lease update failed", { lease: `${this.o.namespace}/${this.o.name}`, error: String((err as { body?: unknown })?.body ?? err) });
      }
      if (this.stopped) break;
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.o.logger.info("became the leader", { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
          this.o.onStartedLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew >= this.o.renewDeadlineMs) {
        this.loseLeadership("could not renew the lease within the renew deadline");
      }
      // A little jitter while campaigning keeps standbys from hitting the API server in step (client-go: 1.2x).
      const delay = this.leading ? this.o.retryPeriodMs : this.o.retryPeriodMs * (1 + Math.random() * 0.2);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, delay);
      });
    }
  }

  private loseLeadership(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.logger.warn("stopped leading", { reason, lease: `${this.o.namespace}/${this.o.name}` });
    this.o.onStoppedLeading();
  }

  /** Another part of the process knows it lost (its ZooKeeper writes were fenced): campaign again. */
  demote(reason: string): void {
    this.loseLeadership(reason);
  }

  /**
   * Stops campaigning. A leader releases the Lease (holder cleared, 1 s duration), as client-go's
   * ReleaseOnCancel does, so a standby takes over at its next retry instead of after a full lease.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    const wasLeading = this.leading;
    this.loseLeadership("shutting down");
    if (!wasLeading) return;
    try {
      const lease = await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: micro(), acquireTime: micro() };
      await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      this.o.logger.info("released the lease", { lease: `${this.o.namespace}/${this.o.name}` });
    } catch (err) {
      this.o.logger.warn("could not release the lease; a standby takes over when it expires", { error: String(err) });
    }
  }

  private observe(lease: V1Lease): void {
    const s = lease.spec ?? {};
    const record = JSON.stringify([
      s.holderIdentity ?? "",
      String(s.renewTime ?? ""),
      String(s.acquireTime ?? ""),
      s.leaseDurationSeconds ?? 0,
      s.leaseTransitions ?? 0,
    ]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, name, namespace, identity } = this.o;
    const leaseDurationSeconds = Math.max(1, Math.ceil(this.o.leaseDurationMs / 1000));
    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (code(err) !== 404) throw err;
    }
    if (!lease) {
      try {
        const created = await api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: micro(), renewTime: micro(), leaseTransitions: 0 },
          },
        });
        this.observe(created);
        return true;
      } catch (err) {
        if (code(err) === 409) return false; // another replica created it first
        throw err;
      }
    }
    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== "" && holder !== identity && this.observedAt + durationMs > Date.now()) return false;
    const mine = holder === identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: micro(),
      acquireTime: mine ? spec.acquireTime : micro(),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    try {
      // metadata.resourceVersion is sent back: a concurrent update makes this a 409, not a lost write.
      this.observe(await api.replaceNamespacedLease({ name, namespace, body: lease }));
      return true;
    } catch (err) {
      if (code(err) === 409) return false;
      throw err;
    }
  }
}
