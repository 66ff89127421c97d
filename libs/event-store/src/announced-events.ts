import { STRIPE_EVENT_ANNOUNCED, StripeEventAnnounced, stripeEvent, type EventOf } from '@meterflow/contracts';
import { newId } from '@meterflow/kernel';
import { announcedChanges } from './announced-changes.js';
import { defaultFolds, type AggregateType, type CommandContext, type DomainEvent } from './command-pipeline.js';
import { toJson } from './json.js';
import type { NewEvent, PgEventStore, StoredEvent } from './pg-event-store.js';

/**
 * "Store the facts once, render the Stripe event when it is published": a service records a
 * small `StripeEventAnnounced` (id, type, created, request) with the change it announces, and
 * the outbox relay asks the service's `StripeEventRenderer` for the Stripe `event` object when it
 * publishes it. `announcementRenderer` is the one renderer every service uses: it reads the
 * announcing streams (one query per relay batch), folds each with its aggregate's decider and
 * hands the states around the announced change to the aggregate's `render`.
 */

/** The facts a `StripeEventAnnounced` stores. */
export type AnnouncedFacts = EventOf<typeof StripeEventAnnounced>['data'];

/** A `StripeEventAnnounced` as the relay hands it to the renderer: where it is stored and its facts. */
export interface StripeEventAnnouncement {
  streamId: string;
  streamPosition: number;
  data: AnnouncedFacts;
}

/** For each announcement, in order, the Stripe `event` object as JSON text. */
export interface StripeEventRenderer {
  render(announcements: readonly StripeEventAnnouncement[]): Promise<string[]>;
}

/**
 * The fact of a Stripe event, recorded with the change it announces. `since`: the stream version
 * the change started from when it is more than the one event stored right before (a command's
 * whole change, `announceChange`).
 */
export function announceStripeEvent(type: string, created: number, ctx: CommandContext, since?: number): NewEvent {
  return StripeEventAnnounced({
    id: newId('event'),
    type,
    created,
    request: { id: ctx.requestId ?? null, idempotency_key: ctx.idempotencyKey ?? null },
    ...(since !== undefined ? { since } : {}),
  });
}

/** The states around an announced change: before it, after it, and the last folded event of it. */
export interface AnnouncedChange<S, E> {
  before: S;
  after: S;
  event: E;
}

/** What a Stripe event carries besides its facts: `data.object` and, for an update, `data.previous_attributes`. */
export interface RenderedObject {
  object: Record<string, unknown>;
  previousAttributes?: Record<string, unknown>;
}

/** How one aggregate type's announcements are rendered. */
export interface StripeEventRendering<S, E extends DomainEvent = DomainEvent> {
  /** Which announcements it renders, by Stripe event type (e.g. `t.startsWith('invoice.')`). */
  renders: (stripeType: string) => boolean;
  /** The announcing stream's aggregate type: its decider folds the stream. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  aggregate: Pick<AggregateType<S, any, E>, 'name' | 'decider' | 'folds'>;
  /** Pure: the object (and previous attributes) of a Stripe event of `type` announcing `change`. */
  render: (type: string, change: AnnouncedChange<S, E>) => RenderedObject;
}

/**
 * The Stripe `event` objects (JSON text) of one stream's announcements, in the order given.
 * Pure: `history` is the whole stream as stored (bigints come back as strings, as the pipeline
 * folds them when it loads a stream).
 */
export function renderAnnouncements<S, E extends DomainEvent>(
  rendering: StripeEventRendering<S, E>,
  history: readonly StoredEvent[],
  announcements: readonly Pick<StripeEventAnnouncement, 'streamPosition' | 'data'>[],
): string[] {
  const { decider, folds = defaultFolds, name } = rendering.aggregate;
  const wanted = new Set(announcements.map((a) => a.streamPosition));
  const versions = new Set(announcements.flatMap((a) => (a.data.since !== undefined ? [a.data.since] : [])));
  const atVersion = new Map<number, S>();
  const around = new Map<number, AnnouncedChange<S, E>>();
  let state = decider.initialState();
  let before = state;
  let last: E | undefined;
  if (versions.has(0)) atVersion.set(0, state);
  for (const e of history) {
    if (e.type === STRIPE_EVENT_ANNOUNCED) {
      if (wanted.has(e.streamPosition) && last) around.set(e.streamPosition, { before, after: state, event: last });
    } else if (folds(e.type)) {
      before = state;
      last = e as unknown as E;
      state = decider.evolve(state, last);
    }
    if (versions.has(e.streamPosition)) atVersion.set(e.streamPosition, state);
  }
  return announcements.map((a) => {
    const found = around.get(a.streamPosition);
    if (!found) throw new Error(`${name}: no state for the Stripe event announced at stream position ${a.streamPosition}`);
    const since = a.data.since;
    if (since !== undefined && !atVersion.has(since))
      throw new Error(`${name}: no state at version ${since} (announcement at ${a.streamPosition})`);
    const change = since === undefined ? found : { ...found, before: atVersion.get(since)! };
    return renderAnnounced(rendering, a.data, change);
  });
}

/** One announced Stripe event (JSON text) from the states around its change. Pure. */
function renderAnnounced<S, E extends DomainEvent>(
  rendering: StripeEventRendering<S, E>,
  facts: AnnouncedFacts,
  change: AnnouncedChange<S, E>,
): string {
  const { object, previousAttributes } = rendering.render(facts.type, change);
  const evt = stripeEvent(facts.id, facts.type, object, facts.created, {
    requestId: facts.request.id,
    idempotencyKey: facts.request.idempotency_key,
    ...(previousAttributes ? { previousAttributes } : {}),
  });
  return toJson(evt.data);
}

/** How a service's renderer runs (`MF_RENDER_CHECK`). */
export interface AnnouncementRendererOptions {
  /** Render every announcement found in memory from the stream too, and fail on a difference. */
  check?: boolean;
}

/**
 * A service's renderer for the outbox relay: an announcement this process's units decided is
 * rendered from the states they held (`announced-changes.ts`); the others from their streams,
 * read in one query, each rendered by the rendering that claims its Stripe type.
 */
export function announcementRenderer(
  store: PgEventStore,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  renderings: readonly StripeEventRendering<any, any>[],
  opts: AnnouncementRendererOptions = {},
): StripeEventRenderer {
  const memo = announcedChanges(store);
  return {
    async render(announcements) {
      const out = new Array<string>(announcements.length);
      // stream -> rendering -> indexes of its announcements
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const groups = new Map<string, Map<StripeEventRendering<any, any>, number[]>>();
      announcements.forEach((a, i) => {
        const rendering = renderings.find((r) => r.renders(a.data.type));
        if (!rendering) throw new Error(`no rendering for the announced Stripe event type ${a.data.type} (${a.streamId})`);
        // Checked, the entry stays: the relay's retry of a batch that failed the check fails it again.
        const held = opts.check ? memo.peek(a.data.id) : memo.take(a.data.id);
        if (held && held.aggregate === rendering.aggregate.name) {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          out[i] = renderAnnounced(rendering, a.data, held as AnnouncedChange<any, any>);
          memo.rendered.memory++;
          if (!opts.check) return;
        } else memo.rendered.stream++;
        let byRendering = groups.get(a.streamId);
        if (!byRendering) groups.set(a.streamId, (byRendering = new Map()));
        const list = byRendering.get(rendering);
        if (list) list.push(i);
        else byRendering.set(rendering, [i]);
      });
      if (groups.size === 0) return out;
      const streams = await store.readStreams([...groups.keys()]);
      for (const [streamId, byRendering] of groups) {
        for (const [rendering, indexes] of byRendering) {
          const texts = renderAnnouncements(
            rendering,
            streams.get(streamId) ?? [],
            indexes.map((i) => announcements[i]!),
          );
          indexes.forEach((i, k) => {
            const fromStream = texts[k]!;
            if (out[i] !== undefined && out[i] !== fromStream)
              throw new Error(
                `MF_RENDER_CHECK: ${announcements[i]!.data.id} (${streamId}) rendered from memory differs from its stream:\n${out[i]}\n${fromStream}`,
              );
            out[i] = fromStream;
          });
        }
      }
      return out;
    },
  };
}
