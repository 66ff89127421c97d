export { EVENTS_AS_JSON_SQL, eventStoreMigration, eventsChannel, grantAppendOnly, quoteIdent } from './event-store.migration.js';
export { toJson } from './json.js';
export { copyField, copyQuery, copyRow, copyValue } from './pg-copy.js';
export {
  EventContractError,
  PgEventStore,
  VersionConflictError,
  toStoredEvent,
  withRowIdsText,
  withTransaction,
  type AppendBatch,
  type AppendManyOptions,
  type AppendManyResult,
  type AppendOptions,
  type AppendResult,
  type ExpectedVersion,
  type NewEvent,
  type PgEventStoreOptions,
  type Queryable,
  type Transaction,
  type StoredEvent,
} from './pg-event-store.js';
export {
  CommandPipeline,
  UnitOfWork,
  foldStream,
  loadAggregates,
  type AggregateType,
  type Change,
  type CommandContext,
  type Decider,
  type DomainEvent,
  type ItemResult,
  type Loaded,
  type PipelineOptions,
} from './command-pipeline.js';
export {
  announceStripeEvent,
  announcementRenderer,
  renderAnnouncements,
  type AnnouncedChange,
  type AnnouncedFacts,
  type AnnouncementRendererOptions,
  type RenderedObject,
  type StripeEventAnnouncement,
  type StripeEventRenderer,
  type StripeEventRendering,
} from './announced-events.js';
export { ANNOUNCED_CHANGES_CAPACITY, AnnouncedChanges, announcedChanges, type AnnouncedState } from './announced-changes.js';
