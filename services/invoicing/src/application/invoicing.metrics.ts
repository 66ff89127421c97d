import { Counter, Histogram, metricsRegistry } from '@meterflow/observability';

export const invoicesFinalized = new Counter({
  name: 'meterflow_invoices_finalized_total',
  help: 'Invoices finalized (draft -> open or paid)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const finalizationDuration = new Histogram({
  name: 'meterflow_invoice_finalization_seconds',
  help: 'Time to finalize one invoice (re-rating, credits, opening)',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});
