export { buildAsyncApi } from './asyncapi.js';
export { buildOpenApi } from './openapi.js';
export { MeterErrorReport, METER_ERROR_REPORT } from './stripe-schemas.js';
