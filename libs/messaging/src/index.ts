export * from './connection.js';
export * from './jetstream/index.js';
export * from './rpc/index.js';
