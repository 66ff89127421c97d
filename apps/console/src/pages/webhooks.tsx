import { useState } from 'preact/hooks';
import { api, type StripeList } from '../api.js';
import { when } from '../format.js';
import { useResource } from '../hooks.js';
import type { StripeEvent, WebhookEndpoint } from '../types.js';
import { Badge, Card, ConfirmButton, Json, Loaded, Pager, Table } from '../components/ui.js';

/** Webhook endpoints (create, disable, delete) and the events sent to them (`/v1/events`, with pending deliveries). */
export function Webhooks() {
  const endpoints = useResource(() => api.get<StripeList<WebhookEndpoint>>('/v1/webhook_endpoints', { limit: 50 }), []);
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState('*');
  const [error, setError] = useState<string>();
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api.post('/v1/webhook_endpoints', {
        url: url.trim(),
        enabled_events: types
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      });
      setUrl('');
      endpoints.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <>
      <h1>Webhooks &amp; events</h1>
      <Card title="Webhook endpoints">
        <Loaded r={endpoints}>
          {(list) => (
            <Table
              testId="webhook-endpoints"
              rows={list.data}
              empty="No webhook endpoints."
              cols={[
                ['URL', (w) => <code>{w.url}</code>],
                ['Events', (w) => w.enabled_events.join(', ')],
                ['Status', (w) => <Badge value={w.status} />],
                ['Created', (w) => when(w.created)],
                [
                  '',
                  (w) => (
                    <span class="row-actions">
                      <button
                        onClick={async () => {
                          await api.post(`/v1/webhook_endpoints/${w.id}`, { disabled: w.status === 'enabled' });
                          endpoints.reload();
                        }}
                      >
                        {w.status === 'enabled' ? 'Disable' : 'Enable'}
                      </button>
                      <ConfirmButton
                        label="Delete"
                        danger
                        title="Delete this endpoint?"
                        message={`No more events will be sent to ${w.url}.`}
                        confirmLabel="Delete endpoint"
                        run={async () => {
                          await api.del(`/v1/webhook_endpoints/${w.id}`);
                          endpoints.reload();
                        }}
                      />
                    </span>
                  ),
                ],
              ]}
            />
          )}
        </Loaded>
        <form class="search" onSubmit={create}>
          <input
            name="url"
            type="url"
            placeholder="https://example.com/webhooks"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
            required
          />
          <input
            name="enabled_events"
            placeholder="* or invoice.paid, invoice.finalized"
            value={types}
            onInput={(e) => setTypes(e.currentTarget.value)}
          />
          <button type="submit">Add endpoint</button>
        </form>
        {error && <p class="error">{error}</p>}
      </Card>
      <Events />
    </>
  );
}

function Events() {
  const [type, setType] = useState('');
  const [applied, setApplied] = useState('');
  const [failedOnly, setFailedOnly] = useState(false);
  const [cursor, setCursor] = useState<{ after?: string; before?: string }>({});
  const [open, setOpen] = useState<string>();
  const events = useResource(
    () =>
      api.get<StripeList<StripeEvent>>('/v1/events', {
        limit: 25,
        ...(applied ? { type: applied } : {}),
        ...(failedOnly ? { delivery_success: false } : {}),
        ...(cursor.after ? { starting_after: cursor.after } : {}),
        ...(cursor.before ? { ending_before: cursor.before } : {}),
      }),
    [applied, failedOnly, cursor.after, cursor.before],
  );
  return (
    <Card title="Events and deliveries">
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          setCursor({});
          setApplied(type.trim());
        }}
      >
        <input name="type" placeholder="Event type, e.g. invoice.* " value={type} onInput={(e) => setType(e.currentTarget.value)} />
        <label>
          <input type="checkbox" checked={failedOnly} onChange={(e) => setFailedOnly(e.currentTarget.checked)} /> failed deliveries only
        </label>
        <button type="submit">Filter</button>
      </form>
      <Loaded r={events}>
        {(list) => (
          <>
            <Table
              testId="events"
              rows={list.data}
              empty="No events."
              cols={[
                ['When', (e) => when(e.created)],
                ['Type', (e) => <code>{e.type}</code>],
                ['Object', (e) => (typeof e.data.object.id === 'string' ? <code>{e.data.object.id}</code> : '—')],
                [
                  'Deliveries pending',
                  (e) => (e.pending_webhooks > 0 ? <Badge value={`${e.pending_webhooks} pending`} /> : <span class="muted">none</span>),
                ],
                [
                  '',
                  (e) => (
                    <button class="link" onClick={() => setOpen(open === e.id ? undefined : e.id)}>
                      {open === e.id ? 'Hide' : 'Show'}
                    </button>
                  ),
                ],
              ]}
            />
            {open && list.data.find((e) => e.id === open) && <Json value={list.data.find((e) => e.id === open)} />}
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
  );
}
