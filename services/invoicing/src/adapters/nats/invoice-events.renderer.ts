import type { PgEventStore } from '@meterflow/event-store';
import type { StripeEventAnnouncement, StripeEventRenderer } from '@meterflow/messaging';
import { renderInvoiceEvents } from '../../application/invoicing.aggregates.js';

/**
 * The outbox relay's renderer of invoicing's announced Stripe events: the announcing invoice
 * streams are read in one query and each announcement rendered from its stream (pure:
 * `renderInvoiceEvents`).
 */
export function invoiceEventRenderer(store: PgEventStore): StripeEventRenderer {
  return {
    async render(announcements: readonly StripeEventAnnouncement[]): Promise<string[]> {
      const byStream = new Map<string, number[]>();
      announcements.forEach((a, i) => {
        const list = byStream.get(a.streamId);
        if (list) list.push(i);
        else byStream.set(a.streamId, [i]);
      });
      const streams = await store.readStreams([...byStream.keys()]);
      const out = new Array<string>(announcements.length);
      for (const [streamId, indexes] of byStream) {
        const texts = renderInvoiceEvents(
          streams.get(streamId) ?? [],
          indexes.map((i) => announcements[i]!),
        );
        indexes.forEach((i, k) => (out[i] = texts[k]!));
      }
      return out;
    },
  };
}
