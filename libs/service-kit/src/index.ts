export { bootstrapService, type RunningService } from './bootstrap.js';
export { envSchemaFor, loadServiceConfig, type ServiceConfig } from './config.js';
export type { Migration, ServiceDefinition } from './definition.js';
export { MeterflowModule } from './meterflow.module.js';
export { applyMigrations, ensureDatabase, runMigrations } from './migrations.js';
export { PeriodicTask } from './periodic-task.js';
export { startServiceForTest, type ServiceUnderTest } from './testing.js';
export * from './tokens.js';
export { contract, contractViolation } from './contract-pipe.js';
