import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// One config, three projects: unit (pure), int (real Postgres + NATS), e2e (services as processes).
const shared = {
  plugins: [swc.vite({ jsc: { transform: { legacyDecorator: true, decoratorMetadata: true } } })],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
};

export default defineConfig({
  ...shared,
  test: {
    projects: [
      { test: { name: 'unit', include: ['{libs,services,apps,tools}/*/{src,test}/**/*.unit.spec.ts'] } },
      {
        test: {
          name: 'int',
          include: ['{libs,services,tools}/*/{src,test}/**/*.int.spec.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],
          // After each spec file: every invoice it created is explained and re-rated (issue 8 item 10).
          setupFiles: ['test/e2e/explanations.setup.ts'],
        },
      },
    ],
  },
});
