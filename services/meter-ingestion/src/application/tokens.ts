/** Settings of this service (parsed once at boot by service-kit, see meter-ingestion.definition.ts). */
export interface IngestionSettings {
  identifierWindowDays: number;
  customerLookup: 'rating' | 'off';
  flushMaxEvents: number;
  pullBatchMessages: number;
  concurrency: number;
  writers: number;
  schedulerIntervalMs: number;
  catalogRefreshMs: number;
}
export const INGESTION_SETTINGS = Symbol('INGESTION_SETTINGS');
