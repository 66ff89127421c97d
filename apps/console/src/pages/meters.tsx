import { useState } from 'preact/hooks';
import { api, type StripeList } from '../api.js';
import { when } from '../format.js';
import { useResource } from '../hooks.js';
import type { Meter, StripeEvent } from '../types.js';
import { Badge, Card, Loaded, Pager, Table } from '../components/ui.js';

export interface ErrorReport {
  developer_message_summary: string;
  reason: { error_count: number; error_types: { code: string; error_count: number; sample_errors: { error_message: string }[] }[] };
  validation_start: string;
  validation_end: string;
  related_object: { id: string } | null;
}

/** Meter error reports are Stripe events (`v1.billing.meter.error_report_triggered`, `...no_meter_found`) in `/v1/events`. */
export const errorReports = (limit = 50) =>
  api.get<StripeList<StripeEvent>>('/v1/events', { type: 'v1.billing.meter.*', limit }).then((l) => l.data);

export function ErrorReports(props: { events: StripeEvent[] }) {
  return (
    <Table
      testId="error-reports"
      rows={props.events}
      empty="No error reports."
      cols={[
        ['When', (e) => when(e.created)],
        ['Event', (e) => <code>{e.type}</code>],
        ['Meter', (e) => (e.data.object as unknown as ErrorReport).related_object?.id ?? 'no meter'],
        [
          'Codes',
          (e) =>
            (e.data.object as unknown as ErrorReport).reason.error_types.map((t) => (
              <div key={t.code}>
                <code>{t.code}</code> × {t.error_count}
                {t.sample_errors[0] && <span class="muted"> — {t.sample_errors[0].error_message}</span>}
              </div>
            )),
        ],
        ['Summary', (e) => (e.data.object as unknown as ErrorReport).developer_message_summary],
      ]}
    />
  );
}

export function Meters() {
  const [cursor, setCursor] = useState<{ after?: string; before?: string }>({});
  const meters = useResource(
    () =>
      api.get<StripeList<Meter>>('/v1/billing/meters', {
        limit: 20,
        ...(cursor.after ? { starting_after: cursor.after } : {}),
        ...(cursor.before ? { ending_before: cursor.before } : {}),
      }),
    [cursor.after, cursor.before],
  );
  const reports = useResource(() => errorReports(), []);
  return (
    <>
      <h1>Meters</h1>
      <Card title="Meters">
        <Loaded r={meters}>
          {(list) => (
            <>
              <Table
                testId="meters"
                rows={list.data}
                empty="No meters yet."
                cols={[
                  ['Meter', (m) => <a href={`/console/meters/${m.id}`}>{m.display_name}</a>],
                  ['Event name', (m) => <code>{m.event_name}</code>],
                  ['Aggregation', (m) => m.default_aggregation.formula],
                  ['Status', (m) => <Badge value={m.status} />],
                  ['Created', (m) => when(m.created)],
                ]}
              />
              <Pager
                hasPrev={cursor.before ? list.has_more : !!cursor.after}
                hasNext={cursor.before ? true : list.has_more}
                onPrev={() => setCursor({ before: list.data[0]?.id })}
                onNext={() => setCursor({ after: list.data[list.data.length - 1]?.id })}
              />
            </>
          )}
        </Loaded>
      </Card>
      <Card title="Recent error reports">
        <Loaded r={reports}>{(events) => <ErrorReports events={events} />}</Loaded>
      </Card>
    </>
  );
}
