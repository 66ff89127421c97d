import { describe, expect, it } from 'vitest';
import { buildErrorReports } from './error-report.js';
import type { MeterEventRejection } from './meter-event.validation.js';

const rej = (meterId: string | null, reportCode: MeterEventRejection['reportCode'], identifier: string): MeterEventRejection => ({
  code: reportCode,
  reportCode,
  message: `${reportCode} for ${identifier}`,
  meterId,
  eventName: 'e',
  identifier,
});

describe('error reports', () => {
  it('given rejections for a meter and without a meter, then one report each, grouped by code with samples', () => {
    const reports = buildErrorReports(
      [
        rej('mtr_1', 'meter_event_invalid_value', 'a'),
        rej('mtr_1', 'meter_event_invalid_value', 'b'),
        rej('mtr_1', 'timestamp_in_future', 'c'),
        rej(null, 'no_meter', 'd'),
      ],
      '2027-01-01T00:00:00.000Z',
      '2027-01-01T00:00:01.000Z',
    );
    expect(reports.map((r) => r.type)).toEqual(['v1.billing.meter.no_meter_found', 'v1.billing.meter.error_report_triggered']);
    const m = reports[1]!;
    expect(m.meterId).toBe('mtr_1');
    expect(m.data.reason).toEqual({
      error_count: 3,
      error_types: [
        {
          code: 'meter_event_invalid_value',
          error_count: 2,
          sample_errors: [
            { error_message: 'meter_event_invalid_value for a', request: { identifier: 'a' } },
            { error_message: 'meter_event_invalid_value for b', request: { identifier: 'b' } },
          ],
        },
        {
          code: 'timestamp_in_future',
          error_count: 1,
          sample_errors: [{ error_message: 'timestamp_in_future for c', request: { identifier: 'c' } }],
        },
      ],
    });
  });
  it('given many errors of one code, then at most 5 samples', () => {
    const reports = buildErrorReports(
      Array.from({ length: 9 }, (_, i) => rej('m', 'no_meter', String(i))),
      's',
      'e',
    );
    expect(reports[0]!.data.reason.error_types[0]).toMatchObject({ error_count: 9 });
    expect(reports[0]!.data.reason.error_types[0]!.sample_errors).toHaveLength(5);
  });
});
