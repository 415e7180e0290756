/**
 * The SDK's book of wanted symbols and their subscription tiers (issue 16, src/protocol/tiers.ts): per symbol the
 * tier the application asked for, which every new connection restores, and the tier the server's last ack granted.
 *
 * Tiers are compared as the server rounds them (tierFor), so asking 5/s of a symbol held at 4/s is no change.
 * Real-time and delayed data are two chains of stream ids: an id held on one says nothing about the other, so a move
 * between them starts over from a snapshot, while a move between rates of one chain resumes from the held id.
 */
import { Tier, tierFor } from '../protocol/tiers';

/** How often and how late a subscription's frames come. */
export interface TierOptions {
  /** At most this many data frames per second per symbol, rounded down by the server to 1, 2, 4 or 10. */
  maxRate?: number;
  /** Every tick, each no sooner than the gateway's delay after its time. */
  delayed?: boolean;
}

/** The fields of one subscribe request, without op and id. */
export interface SubscribeFields {
  symbols: string[];
  snapshot?: boolean;
  since?: Record<string, string>;
  maxRate?: number;
  delayed?: boolean;
}

/** What a subscribe changes in the book, to apply its reply or undo it when the server refuses it. */
export interface SubscribePlan {
  fields: SubscribeFields;
  /** The tier the request asks for. */
  tier: Tier;
  /** Symbols new to the wanted set. */
  added: string[];
  /** Wanted symbols this request moves to another tier, with the tier they had. */
  moved: Map<string, Tier>;
  /** Moved symbols that leave their chain (real-time ↔ delayed): their held ids end with the request's snapshot. */
  rechained: string[];
}

/** The subscribe fields that ask for `tier`; none for the full real-time tier. */
function tierFields(tier: Tier): Pick<SubscribeFields, 'maxRate' | 'delayed'> {
  return { ...(tier.maxRate !== undefined && { maxRate: tier.maxRate }), ...(tier.delayed && { delayed: true }) };
}

export class TierBook {
  /** Insertion-ordered: resubscriptions list the symbols in the order the application first asked for them. */
  private readonly wanted = new Map<string, Tier>();
  private readonly granted = new Map<string, Tier>();

  get size(): number {
    return this.wanted.size;
  }

  has(sym: string): boolean {
    return this.wanted.has(sym);
  }

  symbols(): string[] {
    return [...this.wanted.keys()];
  }

  /** The tier the client asks for `sym` (and restores on reconnect). */
  tierOf(sym: string): Tier | undefined {
    return this.wanted.get(sym);
  }

  /** The tier the server's last ack for `sym` stated. */
  grantedOf(sym: string): Tier | undefined {
    return this.granted.get(sym);
  }

  /** Whether `sym` is wanted on a rate tier, whose conflated frames chain by `prev` like live ones. */
  onRateTier(sym: string): boolean {
    return this.wanted.get(sym)?.maxRate !== undefined;
  }

  /** The wanted symbols on delayed tiers (`delayed`) or on real-time ones: those a gap message concerns. */
  onSide(delayed: boolean): string[] {
    return [...this.wanted].filter(([, t]) => t.delayed === delayed).map(([sym]) => sym);
  }

  forget(sym: string): void {
    this.wanted.delete(sym);
    this.granted.delete(sym);
  }

  /**
   * Records a subscribe of `symbols` with `options` and returns its request: new symbols without `since`, held
   * symbols moving within their chain with `since` = their held id, those moving across chains with a snapshot.
   */
  subscribe(symbols: string[], options: TierOptions & { snapshot?: boolean }, lastId: (sym: string) => string | undefined): SubscribePlan {
    const tier = tierFor(options.maxRate, options.delayed === true);
    const plan: SubscribePlan = { fields: { symbols }, tier, added: [], moved: new Map(), rechained: [] };
    const since: Record<string, string> = {};
    for (const sym of symbols) {
      const before = this.wanted.get(sym);
      if (before === tier) continue;
      this.wanted.set(sym, tier);
      if (before === undefined) {
        plan.added.push(sym);
        continue;
      }
      plan.moved.set(sym, before);
      const held = lastId(sym);
      if (before.delayed !== tier.delayed) plan.rechained.push(sym);
      else if (held !== undefined) since[sym] = held;
    }
    // The raw rate goes out, so the server validates it as given; the ack states the tier it rounded it to.
    plan.fields = {
      symbols,
      ...((options.snapshot || plan.rechained.length > 0) && { snapshot: true }),
      ...(Object.keys(since).length > 0 && { since }),
      ...(options.maxRate !== undefined && { maxRate: options.maxRate }),
      ...(tier.delayed && { delayed: true }),
    };
    return plan;
  }

  /**
   * The server refused the request: its new symbols are not wanted, and the moved ones stay where they were. A symbol
   * a later subscribe has moved on is that request's to settle.
   */
  undo(plan: SubscribePlan): void {
    for (const sym of plan.added) if (this.wanted.get(sym) === plan.tier) this.forget(sym);
    for (const [sym, before] of plan.moved) if (this.wanted.get(sym) === plan.tier) this.wanted.set(sym, before);
  }

  /** The server's ack of a subscribe of `symbols`: the tier it states for them (none stated: full real time). */
  grant(symbols: string[], ack: { maxRate?: unknown; delayed?: unknown }): void {
    const tier = tierFor(typeof ack.maxRate === 'number' && ack.maxRate >= 1 ? ack.maxRate : undefined, ack.delayed === true);
    for (const sym of symbols) if (this.wanted.has(sym)) this.granted.set(sym, tier);
  }

  /**
   * The requests that restore every wanted symbol on a new connection, one per tier: held ids as `since`, and a
   * snapshot for a tier with a symbol holding none when `snapshotFresh` (see the client's resubscription).
   */
  restore(lastId: (sym: string) => string | undefined, snapshotFresh: boolean): SubscribeFields[] {
    const groups = new Map<Tier, string[]>();
    for (const [sym, tier] of this.wanted) {
      const group = groups.get(tier);
      if (group) group.push(sym);
      else groups.set(tier, [sym]);
    }
    return [...groups].map(([tier, symbols]) => {
      const since: Record<string, string> = {};
      let fresh = false;
      for (const sym of symbols) {
        const held = lastId(sym);
        if (held === undefined) fresh = true;
        else since[sym] = held;
      }
      return { symbols, snapshot: fresh && snapshotFresh, since, ...tierFields(tier) };
    });
  }
}
