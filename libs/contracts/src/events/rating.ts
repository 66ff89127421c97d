/** rating's events: one zod schema per type (filled in by the move of its domain events). */
export {};
