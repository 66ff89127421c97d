import type { MeterErrorCode, MeterEventRejection } from './meter-event.validation.js';

export const MAX_SAMPLE_ERRORS = 5;

/** The data of a `v1.billing.meter.error_report_triggered` / `v1.billing.meter.no_meter_found` event. */
export interface ErrorReport {
  type: 'v1.billing.meter.error_report_triggered' | 'v1.billing.meter.no_meter_found';
  meterId: string | null;
  data: {
    developer_message_summary: string;
    reason: {
      error_count: number;
      error_types: {
        code: MeterErrorCode;
        error_count: number;
        sample_errors: { error_message: string; request: { identifier: string } }[];
      }[];
    };
    validation_start: string;
    validation_end: string;
  };
}

/**
 * Group the rejections of one validation window into Stripe's error reports: one per meter
 * (`error_report_triggered`) and one for events that matched no meter (`no_meter_found`).
 */
export function buildErrorReports(
  rejections: readonly MeterEventRejection[],
  validationStart: string,
  validationEnd: string,
): ErrorReport[] {
  const byMeter = new Map<string, MeterEventRejection[]>();
  for (const r of rejections) {
    const key = r.meterId ?? '';
    const list = byMeter.get(key) ?? [];
    list.push(r);
    byMeter.set(key, list);
  }
  const reports: ErrorReport[] = [];
  for (const [meterId, list] of [...byMeter.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const byCode = new Map<MeterErrorCode, MeterEventRejection[]>();
    for (const r of list) byCode.set(r.reportCode, [...(byCode.get(r.reportCode) ?? []), r]);
    const errorTypes = [...byCode.entries()].map(([code, rs]) => ({
      code,
      error_count: rs.length,
      sample_errors: rs.slice(0, MAX_SAMPLE_ERRORS).map((r) => ({ error_message: r.message, request: { identifier: r.identifier } })),
    }));
    const noMeter = meterId === '';
    reports.push({
      type: noMeter ? 'v1.billing.meter.no_meter_found' : 'v1.billing.meter.error_report_triggered',
      meterId: noMeter ? null : meterId,
      data: {
        developer_message_summary: noMeter
          ? `${list.length} meter event(s) did not match any meter.`
          : `${list.length} meter event(s) for meter ${meterId} failed validation.`,
        reason: { error_count: list.length, error_types: errorTypes },
        validation_start: validationStart,
        validation_end: validationEnd,
      },
    });
  }
  return reports;
}
