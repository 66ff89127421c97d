/** JSON on the wire: bigints (minor units in code) travel as numbers. */
export const encodeJson = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
