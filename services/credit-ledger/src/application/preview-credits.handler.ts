import { Inject, Injectable } from '@nestjs/common';
import type { PreviewCreditsReply, PreviewCreditsRequest } from '@meterflow/contracts';
import { allocateCredits, isApplyCandidate } from '../domain/credit-application.js';
import type { GrantEvent, GrantState } from '../domain/credit-grant.decider.js';
import { nextTxnId } from './credit-grant.aggregate.js';
import { APPLICATION_READS, GRANTS, PIPELINE, type ApplicationReads, type GrantAggregate, type Pipeline } from './ports.js';

/**
 * `credits.preview` (invoice preview, issue 8 item 8): the credits `credits.apply` would apply to
 * these lines at `at`, decided the same way (candidates, each brought up to date by a Tick,
 * `allocateCredits`), but in memory only: no unit, no append, no stored answer.
 */
@Injectable()
export class PreviewCreditsHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: Pipeline,
    @Inject(GRANTS) private readonly grants: GrantAggregate,
    @Inject(APPLICATION_READS) private readonly reads: ApplicationReads,
  ) {}

  async preview(r: PreviewCreditsRequest): Promise<PreviewCreditsReply> {
    const currency = r.currency.toLowerCase();
    const [candidates = []] = await this.reads.candidates([{ ...r, currency, invoice: 'preview', test_clock: null }]);
    if (candidates.length === 0) return { applications: [] };
    const loaded = await this.pipeline.read(this.grants, candidates);
    const { decide, evolve } = this.grants.decider;
    const states: GrantState[] = [];
    for (const id of candidates) {
      const state = loaded.get(id)?.state;
      if (!state || !isApplyCandidate(state, r.at)) continue;
      // Whatever is due by `at` first (a grant becoming effective or expiring), as `credits.apply` does.
      const events = ([] as GrantEvent[]).concat(decide({ type: 'Tick', at: r.at, nextTxnId }, state));
      states.push(events.reduce(evolve, state));
    }
    const allocations = allocateCredits(
      states,
      r.lines.map((l) => ({ id: l.id, amount: BigInt(l.amount), price: l.price, metered: l.metered })),
      currency,
      r.at,
    );
    return { applications: allocations.map((a) => ({ line: a.line, amount: Number(a.amount), credit_grant: a.grant })) };
  }
}
