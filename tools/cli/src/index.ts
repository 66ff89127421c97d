// The operator functions behind `meterflow` (and the progress display benchmarks use).
export { cliConfig, redactUrl, SERVICE_SCHEMAS, type CliConfig } from './ops/config.js';
export { runDoctor } from './ops/doctor.js';
export type { Check, CheckStatus } from './ops/doctor-rules.js';
export { listDeadLetters, findDeadLetters, replayDeadLetters, type ReplayResult } from './ops/dead-letters.js';
export type { DeadLetterEntry } from './ops/dead-letter-plan.js';
export { rebuildService, REBUILDABLE } from './ops/rebuild.js';
export { advanceClock, type ClockUpdate } from './ops/clock-advance.js';
export { tailEvents, describeEvent } from './ops/events-tail.js';
export { startProgress, startPhasedProgress, type Progress, type PhasedProgress } from './ui/progress.js';
export { formatDuration, etaSeconds, progressText } from './ui/format.js';
