import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { onSignOut, session } from './api.js';
import { SignIn } from './pages/sign-in.js';
import { Customers } from './pages/customers.js';
import { Customer } from './pages/customer.js';
import { Invoice } from './pages/invoice.js';
import { Meters } from './pages/meters.js';
import { Meter } from './pages/meter.js';
import { TestClocks } from './pages/test-clocks.js';
import { Webhooks } from './pages/webhooks.js';
import './styles.css';

const NAV: [string, string][] = [
  ['/console/customers', 'Customers'],
  ['/console/meters', 'Meters'],
  ['/console/test-clocks', 'Test clocks'],
  ['/console/webhooks', 'Webhooks & events'],
];

function Shell() {
  const { path } = useLocation();
  return (
    <div class="shell">
      <nav>
        <a class="brand" href="/console/customers">
          Meterflow
        </a>
        {NAV.map(([href, label]) => (
          <a key={href} href={href} class={path.startsWith(href) ? 'active' : ''}>
            {label}
          </a>
        ))}
        <button class="link sign-out" onClick={() => session.signOut()}>
          Sign out
        </button>
      </nav>
      <main>
        <Router>
          <Route path="/console/customers" component={Customers} />
          <Route path="/console/customers/:id" component={Customer} />
          <Route path="/console/invoices/:id" component={Invoice} />
          <Route path="/console/meters" component={Meters} />
          <Route path="/console/meters/:id" component={Meter} />
          <Route path="/console/test-clocks" component={TestClocks} />
          <Route path="/console/webhooks" component={Webhooks} />
          <Route default component={Home} />
        </Router>
      </main>
    </div>
  );
}

function Home() {
  const { route } = useLocation();
  useEffect(() => route('/console/customers', true), []);
  return null;
}

function App() {
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  useEffect(() => onSignOut(() => setSignedIn(false)), []);
  return <LocationProvider>{signedIn ? <Shell /> : <SignIn onSignedIn={() => setSignedIn(true)} />}</LocationProvider>;
}

render(<App />, document.getElementById('app')!);
