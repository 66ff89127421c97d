export * from './api-routes.js';
export * from './clock-protocol.js';
export * from './events/index.js';
export * from './internal-ops.js';
export * from './rpc.js';
export * from './stripe-event-types.js';
export * from './stripe-objects.js';
export * from './subjects.js';
