/**
 * JSON for event data. `bigint` (money in minor units) has no JSON form: it is stored as a
 * decimal string, and readers convert it back (`BigInt(x)`) where their schema expects one.
 */
export const toJson = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
