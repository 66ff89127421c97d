import { defineConfig } from 'vite';

// A static bundle under /console/ (the gateway serves dist/). JSX is compiled for Preact by the
// tsconfig's jsxImportSource; no framework plugin is needed for a production build.
export default defineConfig({
  base: '/console/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 300 },
});
