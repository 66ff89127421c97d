import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The ledger rebuild benchmark runs the service's own TypeScript (source condition), like the tests.
export default defineConfig({
  plugins: [swc.vite({ jsc: { transform: { legacyDecorator: true, decoratorMetadata: true } } })],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'bench-ledger',
    root: new URL('../..', import.meta.url).pathname,
    include: ['bench/ledger-rebuild/*.bench-run.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
