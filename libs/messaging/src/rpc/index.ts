export { decodeBatchLine, encodeBatchLine, joinBatch, splitBatch } from './batch.js';
export { encodeJson } from './json.js';
export {
  MeterflowTransport,
  PassThroughRpcErrors,
  RpcContext,
  toErrorShape,
  type MeterflowTransportOptions,
} from './meterflow-transport.js';
export { RpcClient, unavailable, type RequestOptions } from './rpc-client.js';
export { contextFromHeaders, headersWithTrace } from './trace.js';
