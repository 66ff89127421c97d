import { useState } from 'preact/hooks';
import { api, session } from '../api.js';

/** The only door: a secret API key (one of the gateway's MF_API_KEYS), checked with a real API call. */
export function SignIn(props: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.check(key.trim());
      session.signIn(key.trim());
      props.onSignedIn();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="sign-in">
      <form onSubmit={submit}>
        <h1>Meterflow console</h1>
        <p class="muted">Sign in with a secret API key. The console calls the same API as your code, with this key.</p>
        <label>
          Secret key
          <input
            name="api_key"
            type="password"
            autoComplete="off"
            placeholder="sk_test_…"
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            required
          />
        </label>
        {error && <p class="error">{error}</p>}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
