export * from './core.js';
export * from './credit-ledger.js';
export * from './gateway.js';
export * from './invoicing.js';
export * from './meter-ingestion.js';
export * from './rating.js';
