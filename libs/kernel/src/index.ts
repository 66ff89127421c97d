export * from './clock.js';
export * from './config.js';
export * from './errors.js';
export * from './ids.js';
export * from './money.js';
export * from './message-context.js';
export * from './storable-text.js';
export * from './unavailable.js';
