import { InitialSchema1763790000000 } from './1763790000000-initial-schema.js';

/** Every migration, oldest first. Listed explicitly so the same code runs from `src`, `dist` and Jest. */
export const MIGRATIONS = [InitialSchema1763790000000];
