#!/usr/bin/env node
// The workspace bin: `pnpm exec meterflow <command>` (built by `pnpm build`).
import '../dist/bin.js';
