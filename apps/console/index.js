// Where the built bundle is, for the gateway to serve (`pnpm build` writes it; it is never committed).
import { fileURLToPath } from 'node:url';

export const consoleDir = fileURLToPath(new URL('./dist/', import.meta.url));
