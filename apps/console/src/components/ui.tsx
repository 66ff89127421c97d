import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import type { Resource } from '../hooks.js';

export function Card(props: { title: string; actions?: ComponentChildren; children: ComponentChildren; testId?: string }) {
  return (
    <section class="card" data-testid={props.testId}>
      <header>
        <h2>{props.title}</h2>
        <div class="actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}

/** Loading, error or the content of one resource. */
export function Loaded<T>(props: { r: Resource<T>; children: (data: T) => ComponentChildren }) {
  if (props.r.error) return <p class="error">{props.r.error.message}</p>;
  if (props.r.data === undefined) return <p class="muted">Loading…</p>;
  return <>{props.children(props.r.data)}</>;
}

export const Badge = (props: { value: string | null | undefined }) => (
  <span class={`badge badge-${props.value ?? 'none'}`}>{props.value ?? '—'}</span>
);

export function Table<T>(props: { rows: T[]; cols: [string, (row: T) => ComponentChildren][]; empty?: string; testId?: string }) {
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? 'None.'}</p>;
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          {props.cols.map(([h]) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, i) => (
          <tr key={i}>
            {props.cols.map(([h, cell]) => (
              <td key={h}>{cell(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Previous / next over a cursor-paged list. */
export function Pager(props: { hasPrev: boolean; hasNext: boolean; onPrev: () => void; onNext: () => void }) {
  return (
    <div class="pager">
      <button disabled={!props.hasPrev} onClick={props.onPrev}>
        ← Previous
      </button>
      <button disabled={!props.hasNext} onClick={props.onNext}>
        Next →
      </button>
    </div>
  );
}

/**
 * A button that asks first: a modal `<dialog>` says what will happen; only its confirm button
 * runs the action. Errors from the API are shown in the dialog.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  run: () => Promise<unknown>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await props.run();
      dialog.current?.close();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button class={props.danger ? 'danger' : ''} onClick={() => dialog.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-label={props.title}>
        <h3>{props.title}</h3>
        <div>{props.message}</div>
        {error && <p class="error">{error}</p>}
        <div class="dialog-actions">
          <button onClick={() => dialog.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button class={props.danger ? 'danger' : 'primary'} onClick={confirm} disabled={busy}>
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

export const Json = (props: { value: unknown }) => <pre class="json">{JSON.stringify(props.value, null, 2)}</pre>;
